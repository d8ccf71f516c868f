package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;

import java.lang.reflect.RecordComponent;
import java.util.Map;

/** A copy of a registry checkpoint with some components replaced by name, whatever fields the record grows. */
final class Copies {
    private Copies() {
    }

    static Checkpoint with(Checkpoint c, Map<String, Object> changes) {
        RecordComponent[] parts = Checkpoint.class.getRecordComponents();
        Object[] args = new Object[parts.length];
        Class<?>[] types = new Class<?>[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) {
                types[i] = parts[i].getType();
                args[i] = changes.containsKey(parts[i].getName()) ? changes.get(parts[i].getName())
                        : parts[i].getAccessor().invoke(c);
            }
            return Checkpoint.class.getDeclaredConstructor(types).newInstance(args);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
