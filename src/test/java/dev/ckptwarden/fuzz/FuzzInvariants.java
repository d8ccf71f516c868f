package dev.ckptwarden.fuzz;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The invariants every fuzz target checks on every input: the parser either answers or fails with its
 * documented "corrupt/unreadable" exception (nothing else: no IndexOutOfBounds, no NegativeArraySize, no
 * OutOfMemoryError), and what it allocates stays proportional to the input (a 100-byte header that
 * declares a 2 GiB length must not make it allocate 2 GiB). Hangs are caught by the fuzzer's per-input
 * timeout (-timeout, set in the pom's fuzz execution).
 */
public final class FuzzInvariants {

    /** Fixed allowance: JSON and YAML parsers, regex matchers and the result objects cost this much on any input. */
    public static final long BASE_ALLOCATION = 32L << 20;
    /** Per input byte: decoding text, building trees and copies of strings multiply the input a few times. */
    public static final long ALLOCATION_PER_INPUT_BYTE = 256;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Code under test. */
    @FunctionalInterface
    public interface Body {
        void run() throws Exception;
    }

    /** Inputs checked in this JVM (one fuzz target per JVM), reported when it exits. */
    private static final AtomicLong EXECUTIONS = new AtomicLong();
    private static volatile String target;

    private FuzzInvariants() {
    }

    /**
     * Prints "fuzz target T: N executions" when the JVM ends and appends it to executions.tsv in the fuzzer's
     * base directory (target/fuzz under Maven), so a run's figures per target can be read back.
     */
    private static void count() {
        if (EXECUTIONS.getAndIncrement() == 0) {
            target = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE)
                    .walk(frames -> frames.map(f -> f.getDeclaringClass())
                            .filter(c -> c != FuzzInvariants.class && c.getSimpleName().endsWith("FuzzTest"))
                            .findFirst().map(Class::getSimpleName).orElse("unknown"));
            Runtime.getRuntime().addShutdownHook(new Thread(FuzzInvariants::report));
        }
    }

    private static void report() {
        String line = target + "\t" + EXECUTIONS.get();
        System.err.println("fuzz target " + target + ": " + EXECUTIONS.get() + " executions");
        String dir = System.getProperty("jazzer.internal.basedir");
        if (dir != null) {
            try {
                Files.writeString(Path.of(dir, "executions.tsv"), line + "\n", StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                System.err.println("cannot record fuzz executions: " + e.getMessage());
            }
        }
    }

    /**
     * Runs {@code body} on an input of {@code inputLength} bytes: returns normally when it answered or threw one
     * of {@code documented}; throws AssertionError (a finding) for any other throwable or for an allocation
     * beyond {@link #BASE_ALLOCATION} + {@link #ALLOCATION_PER_INPUT_BYTE} per input byte.
     */
    @SafeVarargs
    public static void check(int inputLength, Body body, Class<? extends Throwable>... documented) {
        count();
        long thread = Thread.currentThread().getId();
        long before = THREADS.getThreadAllocatedBytes(thread);
        Throwable thrown = null;
        try {
            body.run();
        } catch (Throwable t) {
            thrown = t;
        }
        long allocated = THREADS.getThreadAllocatedBytes(thread) - before;
        long limit = BASE_ALLOCATION + ALLOCATION_PER_INPUT_BYTE * inputLength;
        Throwable t = thrown;
        if (t != null && Arrays.stream(documented).noneMatch(c -> c.isInstance(t))) {
            throw new AssertionError("undocumented " + t.getClass().getName() + " on a " + inputLength
                    + "-byte input: " + t.getMessage(), t);
        }
        if (allocated > limit) {
            // The first run of a path loads (and, under the fuzzer, instruments) classes on this thread, which
            // allocates far more than the parser does: only an input that allocates too much again is a finding.
            long again = THREADS.getThreadAllocatedBytes(thread);
            try {
                body.run();
            } catch (Throwable ignored) {
                // judged on the first run above
            }
            allocated = THREADS.getThreadAllocatedBytes(thread) - again;
        }
        if (allocated > limit) {
            throw new AssertionError("runaway allocation: " + allocated + " bytes for a " + inputLength
                    + "-byte input (limit " + limit + ")");
        }
    }
}
