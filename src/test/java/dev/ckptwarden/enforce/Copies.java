package dev.ckptwarden.enforce;

import dev.ckptwarden.catalog.Checkpoint;
import dev.ckptwarden.registry.Registered;

import java.lang.reflect.RecordComponent;
import java.util.Map;

/**
 * A copy of a registry row with some components replaced by name, whatever fields the records grow: a name
 * of the row's own ({@code pinned}, {@code state}) or of its disk facts ({@code path}, {@code root}).
 */
final class Copies {
    private Copies() {
    }

    static Registered with(Registered c, Map<String, Object> changes) {
        Checkpoint facts = copy(Checkpoint.class, c.facts(), changes);
        return copy(Registered.class, c.withFacts(facts), changes);
    }

    private static <R extends Record> R copy(Class<R> type, R r, Map<String, Object> changes) {
        RecordComponent[] parts = type.getRecordComponents();
        Object[] args = new Object[parts.length];
        Class<?>[] types = new Class<?>[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) {
                types[i] = parts[i].getType();
                args[i] = changes.containsKey(parts[i].getName()) ? changes.get(parts[i].getName())
                        : parts[i].getAccessor().invoke(r);
            }
            return type.getDeclaredConstructor(types).newInstance(args);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
