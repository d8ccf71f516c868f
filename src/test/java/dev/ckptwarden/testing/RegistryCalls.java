package dev.ckptwarden.testing;

import dev.ckptwarden.registry.Registry;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Counts what is asked of a real registry, passing every call through unchanged: how many times a pass
 * read a root's rows or listed a run, observed from outside the code under test (nothing is answered here).
 */
public final class RegistryCalls {
    /** One call: the method's name and its arguments. */
    public record Call(String method, List<Object> arguments) {
    }

    private final List<Call> calls = new ArrayList<>();
    private final Registry counted;

    public RegistryCalls(Registry real) {
        InvocationHandler passThrough = (proxy, method, args) -> {
            synchronized (calls) {
                calls.add(new Call(method.getName(), args == null ? List.of() : Arrays.asList(args)));
            }
            try {
                return method.invoke(real, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        this.counted = (Registry) Proxy.newProxyInstance(Registry.class.getClassLoader(), new Class<?>[] {Registry.class},
                passThrough);
    }

    /** The registry to hand to the code under test. */
    public Registry registry() {
        return counted;
    }

    /** How many calls of {@code method} were made since the last {@link #reset()}. */
    public long count(String method) {
        synchronized (calls) {
            return calls.stream().filter(c -> c.method().equals(method)).count();
        }
    }

    /** The run ids {@code list(root, run, ...)} was asked for since the last {@link #reset()}. */
    public List<Object> runsListed() {
        synchronized (calls) {
            return calls.stream().filter(c -> c.method().equals("list")).map(c -> c.arguments().get(1)).toList();
        }
    }

    public void reset() {
        synchronized (calls) {
            calls.clear();
        }
    }
}
