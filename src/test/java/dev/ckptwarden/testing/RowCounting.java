package dev.ckptwarden.testing;

import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Registry;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/**
 * A real registry seen through a counter: every call goes on to it unchanged, and the checkpoints each call
 * returns are counted, so that a test can tell how much of a root a pass read at once.
 */
public final class RowCounting {
    /** Checkpoints returned since the last {@link #reset}, in all. */
    public long total;
    /** The most checkpoints one call returned since the last {@link #reset}. */
    public int largestCall;

    /** {@code registry}, counted by this. */
    public Registry wrap(Registry registry) {
        return (Registry) Proxy.newProxyInstance(Registry.class.getClassLoader(), new Class<?>[] {Registry.class},
                (proxy, method, args) -> {
                    try {
                        Object result = method.invoke(registry, args);
                        count(result);
                        return result;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private synchronized void count(Object result) {
        int n = 0;
        if (result instanceof Collection<?> c && !c.isEmpty() && c.iterator().next() instanceof Registered) {
            n = c.size();
        } else if (result instanceof Map<?, ?> m && !m.isEmpty() && m.values().iterator().next() instanceof Registered) {
            n = m.size();
        } else if (result instanceof Optional<?> o && o.isPresent() && o.get() instanceof Registered) {
            n = 1;
        }
        total += n;
        largestCall = Math.max(largestCall, n);
    }

    public synchronized void reset() {
        total = 0;
        largestCall = 0;
    }
}
