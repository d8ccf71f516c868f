package dev.ckptwarden.catalog.integrity;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle interpreter (protocols 0 to 5) that builds plain data and never executes anything:
 * GLOBAL names a class without loading it, REDUCE, NEWOBJ and BUILD produce opaque {@link PyObject}s,
 * persistent ids (torch storages) become {@link PersistentId}s. Enough to read what a
 * {@code torch.save}'d dict says about itself from untrusted bytes.
 *
 * <p>Python values map to: str to String, bytes to byte[], int to Long or BigInteger, float to Double,
 * bool to Boolean, None to null, list to ArrayList, dict to LinkedHashMap, tuple to {@link PyTuple},
 * set to LinkedHashSet. Unhashable keys (lists, dicts, sets) are wrapped in {@link IdentityKey} so a
 * hostile pickle cannot make hashing recurse through a cycle.
 *
 * <p>Why this class is long: it is one interpreter. The opcode switch, the stack, marks and memo it works on,
 * the byte cursor it reads from and the object budget share one pickle's state on every opcode, and the value
 * types nested here are that interpreter's vocabulary, named as {@code PickleReader.PyObject} across the package;
 * splitting them would hand that state between classes without making any part readable alone. The text
 * literals of protocol 0, which need none of it, are in {@link PickleLiterals}.
 */
final class PickleReader {

    /** A class or function named by GLOBAL/STACK_GLOBAL; never resolved. */
    record PyGlobal(String module, String name) {
        String qualifiedName() {
            return module + "." + name;
        }
    }

    /** The result of calling something we refuse to call: callable, arguments, and what was later put into it. */
    static final class PyObject {
        private final Object callable;
        private final Object args;
        private final Map<Object, Object> items = new LinkedHashMap<>();
        private final List<Object> listItems = new ArrayList<>();
        private Object state;

        PyObject(Object callable, Object args) {
            this.callable = callable;
            this.args = args;
        }

        Object callable() {
            return callable;
        }

        Object args() {
            return args;
        }

        /** Items set on it with SETITEM(S), as an OrderedDict subclass or defaultdict would receive them. */
        Map<Object, Object> items() {
            return items;
        }

        List<Object> listItems() {
            return listItems;
        }

        /** The argument of BUILD (what {@code __setstate__} would have received), or null. */
        Object state() {
            return state;
        }

        /** The class name, e.g. "torch._utils._rebuild_tensor_v2", or null when the callable is not a plain global. */
        String typeName() {
            return callable instanceof PyGlobal g ? g.qualifiedName() : null;
        }
    }

    /** A persistent id as torch writes them for storages; the referenced data lives outside the pickle. */
    record PersistentId(Object pid) {
    }

    /** A Python tuple: immutable, so its hash is computed once and nesting depth is tracked to stay bounded. */
    static final class PyTuple {
        private final List<Object> items;
        private final int hash;
        private final int depth;

        PyTuple(List<Object> items) {
            this.items = Collections.unmodifiableList(new ArrayList<>(items));
            int h = 1;
            int d = 1;
            for (Object o : items) {
                h = 31 * h + shallowHash(o);
                if (o instanceof PyTuple t) {
                    d = Math.max(d, t.depth + 1);
                }
            }
            if (d > MAX_TUPLE_DEPTH) {
                throw new PickleException("tuples nested deeper than " + MAX_TUPLE_DEPTH);
            }
            this.hash = h;
            this.depth = d;
        }

        List<Object> items() {
            return items;
        }

        int size() {
            return items.size();
        }

        Object get(int i) {
            return items.get(i);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof PyTuple t && t.hash == hash && t.items.equals(items);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public String toString() {
            return "tuple[" + items.size() + "]";
        }
    }

    /** Wraps a mutable container used as a key, comparing by identity. */
    record IdentityKey(Object value) {
        @Override
        public boolean equals(Object o) {
            return o instanceof IdentityKey k && k.value == value;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(value);
        }
    }

    /** The pickle could not be interpreted (unknown opcode, malformed stack); not a statement about the file. */
    static class PickleException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        PickleException(String message) {
            super(message);
        }
    }

    /** The bytes ended before the STOP opcode. */
    static final class PickleTruncatedException extends PickleException {
        private static final long serialVersionUID = 1L;

        PickleTruncatedException(int position) {
            super("pickle data ends at byte " + position + " before its STOP opcode");
        }
    }

    static final int MAX_TUPLE_DEPTH = 1000;
    /** Values pushed or memoized per reader; a 32 MiB torch pickle of real checkpoints stays well below. */
    static final long MAX_OBJECTS = 4_000_000;
    /** Python ints beyond this many bytes are refused: no checkpoint field needs them. */
    private static final int MAX_LONG_BYTES = 1 << 16;
    private static final Object MARK_SENTINEL = new Object();

    private final byte[] buf;
    private final int limit;
    private int pos;
    private final List<PersistentId> persistentIds = new ArrayList<>();
    private long objects;

    PickleReader(byte[] buf) {
        this(buf, 0, buf.length);
    }

    PickleReader(byte[] buf, int offset, int limit) {
        this.buf = buf;
        this.pos = offset;
        this.limit = limit;
    }

    /** Offset just past the last pickle read (after its STOP). */
    int position() {
        return pos;
    }

    /** Every persistent id met so far, in order. */
    List<PersistentId> persistentIds() {
        return Collections.unmodifiableList(persistentIds);
    }

    /** Reads one pickle, from the current position up to and including its STOP opcode. */
    Object next() {
        List<Object> stack = new ArrayList<>();
        List<Integer> marks = new ArrayList<>();
        Map<Long, Object> memo = new HashMap<>();
        while (true) {
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = u8();
                    if (proto > 5) {
                        throw new PickleException("unsupported pickle protocol " + proto);
                    }
                }
                case 0x95 -> take(8); // FRAME: we already hold the bytes
                case '.' -> { // STOP
                    if (stack.isEmpty()) {
                        throw new PickleException("STOP with an empty stack");
                    }
                    return stack.get(stack.size() - 1);
                }
                case '(' -> { // MARK
                    marks.add(stack.size());
                    push(stack, MARK_SENTINEL);
                }
                case '0' -> pop(stack); // POP
                case '1' -> popMark(stack, marks); // POP_MARK
                case '2' -> push(stack, peek(stack)); // DUP
                case 'N' -> push(stack, null);
                case 0x88 -> push(stack, Boolean.TRUE);
                case 0x89 -> push(stack, Boolean.FALSE);
                case 'J' -> push(stack, (long) le(4).getInt()); // BININT
                case 'K' -> push(stack, (long) u8()); // BININT1
                case 'M' -> push(stack, (long) (le(2).getShort() & 0xffff)); // BININT2
                case 0x8a -> push(stack, decodeLong(u8())); // LONG1
                case 0x8b -> { // LONG4
                    int n = le(4).getInt();
                    if (n < 0 || n > MAX_LONG_BYTES) {
                        throw new PickleException("LONG4 of " + n + " bytes refused");
                    }
                    push(stack, decodeLong(n));
                }
                case 'G' -> push(stack, ByteBuffer.wrap(take(8)).order(ByteOrder.BIG_ENDIAN).getDouble()); // BINFLOAT
                case 'I' -> push(stack, PickleLiterals.parseIntLine(line())); // INT
                case 'L' -> push(stack, PickleLiterals.parseLongLine(line())); // LONG
                case 'F' -> push(stack, PickleLiterals.parseFloatLine(line())); // FLOAT
                case 'X' -> push(stack, utf8(length32())); // BINUNICODE
                case 0x8c -> push(stack, utf8(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(stack, utf8(length64())); // BINUNICODE8
                case 'V' -> push(stack, PickleLiterals.rawUnicodeEscape(line())); // UNICODE
                case 'T' -> push(stack, latin1(length32())); // BINSTRING (Python 2 str)
                case 'U' -> push(stack, latin1(u8())); // SHORT_BINSTRING
                case 'S' -> push(stack, PickleLiterals.unquote(line())); // STRING
                case 'B' -> push(stack, take(length32())); // BINBYTES
                case 'C' -> push(stack, take(u8())); // SHORT_BINBYTES
                case 0x8e, 0x96 -> push(stack, take(length64())); // BINBYTES8, BYTEARRAY8
                case 0x97 -> throw new PickleException("out-of-band buffers are not supported"); // NEXT_BUFFER
                case 0x98 -> { } // READONLY_BUFFER: no change to the value we hold
                case ')' -> push(stack, new PyTuple(List.of())); // EMPTY_TUPLE
                case 0x85 -> push(stack, new PyTuple(popN(stack, 1))); // TUPLE1
                case 0x86 -> push(stack, new PyTuple(popN(stack, 2))); // TUPLE2
                case 0x87 -> push(stack, new PyTuple(popN(stack, 3))); // TUPLE3
                case 't' -> push(stack, new PyTuple(popMark(stack, marks))); // TUPLE
                case ']' -> push(stack, new ArrayList<>()); // EMPTY_LIST
                case 'l' -> push(stack, new ArrayList<>(popMark(stack, marks))); // LIST
                case '}' -> push(stack, new LinkedHashMap<>()); // EMPTY_DICT
                case 'd' -> { // DICT
                    Map<Object, Object> d = new LinkedHashMap<>();
                    setItems(d, popMark(stack, marks));
                    push(stack, d);
                }
                case 0x8f -> push(stack, new LinkedHashSet<>()); // EMPTY_SET
                case 0x91 -> { // FROZENSET
                    Set<Object> s = new LinkedHashSet<>();
                    for (Object o : popMark(stack, marks)) {
                        s.add(key(o));
                    }
                    push(stack, Collections.unmodifiableSet(s));
                }
                case 0x90 -> { // ADDITEMS
                    List<Object> items = popMark(stack, marks);
                    if (peek(stack) instanceof Set<?> s) {
                        @SuppressWarnings("unchecked")
                        Set<Object> set = (Set<Object>) s;
                        for (Object o : items) {
                            set.add(key(o));
                        }
                    } else {
                        throw new PickleException("ADDITEMS on a non-set");
                    }
                }
                case 'a' -> { // APPEND
                    Object v = pop(stack);
                    append(peek(stack), Collections.singletonList(v));
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark(stack, marks);
                    append(peek(stack), items);
                }
                case 's' -> { // SETITEM
                    Object v = pop(stack);
                    Object k = pop(stack);
                    List<Object> pair = new ArrayList<>(2);
                    pair.add(k);
                    pair.add(v);
                    setItems(peek(stack), pair);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark(stack, marks);
                    setItems(peek(stack), items);
                }
                case 'c' -> push(stack, new PyGlobal(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop(stack);
                    Object module = pop(stack);
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw new PickleException("STACK_GLOBAL needs two strings");
                    }
                    push(stack, new PyGlobal(m, n));
                }
                case 0x82 -> push(stack, extension(u8())); // EXT1
                case 0x83 -> push(stack, extension(le(2).getShort() & 0xffff)); // EXT2
                case 0x84 -> push(stack, extension(le(4).getInt())); // EXT4
                case 'R' -> { // REDUCE
                    Object args = pop(stack);
                    Object callable = pop(stack);
                    push(stack, reduce(callable, args));
                }
                case 0x81 -> { // NEWOBJ
                    Object args = pop(stack);
                    Object cls = pop(stack);
                    push(stack, reduce(cls, args));
                }
                case 0x92 -> { // NEWOBJ_EX
                    pop(stack); // kwargs
                    Object args = pop(stack);
                    Object cls = pop(stack);
                    push(stack, reduce(cls, args));
                }
                case 'i' -> { // INST
                    PyGlobal cls = new PyGlobal(line(), line());
                    push(stack, new PyObject(cls, new PyTuple(popMark(stack, marks))));
                }
                case 'o' -> { // OBJ
                    List<Object> items = popMark(stack, marks);
                    if (items.isEmpty()) {
                        throw new PickleException("OBJ without a class");
                    }
                    push(stack, new PyObject(items.get(0), new PyTuple(items.subList(1, items.size()))));
                }
                case 'b' -> { // BUILD
                    Object state = pop(stack);
                    if (peek(stack) instanceof PyObject o) {
                        o.state = state;
                    }
                    // BUILD on a plain container would call __setstate__ on a builtin: nothing we need to model.
                }
                case 'P' -> { // PERSID
                    PersistentId id = new PersistentId(line());
                    persistentIds.add(id);
                    push(stack, id);
                }
                case 'Q' -> { // BINPERSID
                    PersistentId id = new PersistentId(pop(stack));
                    persistentIds.add(id);
                    push(stack, id);
                }
                case 'p' -> memoize(memo, PickleLiterals.memoIndex(line()), peek(stack)); // PUT
                case 'q' -> memoize(memo, (long) u8(), peek(stack)); // BINPUT
                case 'r' -> memoize(memo, le(4).getInt() & 0xffffffffL, peek(stack)); // LONG_BINPUT
                case 0x94 -> memoize(memo, (long) memo.size(), peek(stack)); // MEMOIZE
                case 'g' -> push(stack, memoGet(memo, PickleLiterals.memoIndex(line()))); // GET
                case 'h' -> push(stack, memoGet(memo, u8())); // BINGET
                case 'j' -> push(stack, memoGet(memo, le(4).getInt() & 0xffffffffL)); // LONG_BINGET
                default -> throw new PickleException(String.format("unknown opcode 0x%02x at byte %d", op, pos - 1));
            }
        }
    }

    /** A copyreg extension code stands for a class registered at the writer; we only record the code. */
    private static PyGlobal extension(int code) {
        return new PyGlobal("copyreg.extension", Integer.toString(code));
    }

    /** Containers whose construction runs no user code are built for real; everything else stays opaque. */
    private static Object reduce(Object callable, Object args) {
        if (callable instanceof PyGlobal g) {
            String q = g.qualifiedName();
            if (q.equals("collections.OrderedDict") || q.equals("builtins.dict") || q.equals("__builtin__.dict")) {
                Map<Object, Object> d = new LinkedHashMap<>();
                if (args instanceof PyTuple t && t.size() == 1) {
                    if (t.get(0) instanceof Map<?, ?> m) {
                        d.putAll(m);
                    } else if (t.get(0) instanceof List<?> pairs) {
                        // Python 2 pickles an OrderedDict as OrderedDict([[key, value], ...])
                        for (Object pair : pairs) {
                            List<?> kv = pair instanceof PyTuple pt ? pt.items() : pair instanceof List<?> l ? l : null;
                            if (kv == null || kv.size() != 2) {
                                throw new PickleException("OrderedDict built from something other than pairs");
                            }
                            d.put(key(kv.get(0)), kv.get(1));
                        }
                    }
                }
                return d;
            }
            boolean frozen = q.equals("builtins.frozenset") || q.equals("__builtin__.frozenset");
            if ((frozen || q.equals("builtins.set") || q.equals("__builtin__.set")) && args instanceof PyTuple t
                    && t.size() == 1 && t.get(0) instanceof List<?> l) {
                Set<Object> s = new LinkedHashSet<>();
                for (Object o : l) {
                    s.add(key(o));
                }
                return frozen ? Collections.unmodifiableSet(s) : s;
            }
        }
        return new PyObject(callable, args);
    }

    private static void append(Object target, List<Object> items) {
        if (target instanceof List<?> l) {
            @SuppressWarnings("unchecked")
            List<Object> list = (List<Object>) l;
            list.addAll(items);
        } else if (target instanceof PyObject o) {
            o.listItems.addAll(items);
        } else {
            throw new PickleException("APPEND on a non-list");
        }
    }

    private static void setItems(Object target, List<Object> kv) {
        if (kv.size() % 2 != 0) {
            throw new PickleException("SETITEMS with an odd number of values");
        }
        Map<Object, Object> map;
        if (target instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked")
            Map<Object, Object> mm = (Map<Object, Object>) m;
            map = mm;
        } else if (target instanceof PyObject o) {
            map = o.items;
        } else {
            throw new PickleException("SETITEM on a non-dict");
        }
        for (int i = 0; i < kv.size(); i += 2) {
            map.put(key(kv.get(i)), kv.get(i + 1));
        }
    }

    /** Python only allows hashable keys; mutable containers are compared by identity to keep hashing shallow. */
    static Object key(Object k) {
        if (k instanceof List<?> || k instanceof Map<?, ?> || k instanceof Set<?> || k instanceof byte[]) {
            return new IdentityKey(k);
        }
        return k;
    }

    private static int shallowHash(Object o) {
        if (o == null) {
            return 0;
        }
        if (o instanceof List<?> || o instanceof Map<?, ?> || o instanceof Set<?> || o instanceof byte[]
                || o instanceof PyObject) {
            return System.identityHashCode(o);
        }
        return o.hashCode();
    }

    private void push(List<Object> stack, Object value) {
        spend();
        stack.add(value);
    }

    private void memoize(Map<Long, Object> memo, long index, Object value) {
        spend();
        memo.put(index, value);
    }

    /** A hostile or absurd pickle must not exhaust the heap: its bytes are bounded, and so are the objects. */
    private void spend() {
        if (++objects > MAX_OBJECTS) {
            throw new PickleException("pickle builds more than " + MAX_OBJECTS + " values");
        }
    }

    private static Object memoGet(Map<Long, Object> memo, long index) {
        if (!memo.containsKey(index)) {
            throw new PickleException("memo index " + index + " read before it was written");
        }
        return memo.get(index);
    }

    private static Object pop(List<Object> stack) {
        if (stack.isEmpty()) {
            throw new PickleException("stack underflow");
        }
        Object o = stack.remove(stack.size() - 1);
        if (o == MARK_SENTINEL) {
            throw new PickleException("unexpected MARK on the stack");
        }
        return o;
    }

    private static Object peek(List<Object> stack) {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK_SENTINEL) {
            throw new PickleException("stack underflow");
        }
        return stack.get(stack.size() - 1);
    }

    private static List<Object> popN(List<Object> stack, int n) {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) {
            items[i] = pop(stack);
        }
        return Arrays.asList(items);
    }

    private static List<Object> popMark(List<Object> stack, List<Integer> marks) {
        if (marks.isEmpty()) {
            throw new PickleException("no MARK to pop to");
        }
        int at = marks.remove(marks.size() - 1);
        List<Object> slice = new ArrayList<>(stack.subList(at + 1, stack.size()));
        stack.subList(at, stack.size()).clear();
        return slice;
    }

    private void need(long n) {
        if (n < 0 || n > limit - pos) {
            throw new PickleTruncatedException(limit);
        }
    }

    private int u8() {
        need(1);
        return buf[pos++] & 0xff;
    }

    private byte[] take(int n) {
        need(n);
        byte[] out = Arrays.copyOfRange(buf, pos, pos + n);
        pos += n;
        return out;
    }

    private ByteBuffer le(int n) {
        return ByteBuffer.wrap(take(n)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private int length32() {
        long n = le(4).getInt() & 0xffffffffL;
        need(n);
        return (int) n;
    }

    private int length64() {
        long n = le(8).getLong();
        need(n);
        return (int) n;
    }

    private String utf8(int n) {
        return new String(take(n), StandardCharsets.UTF_8);
    }

    private String latin1(int n) {
        return new String(take(n), StandardCharsets.ISO_8859_1);
    }

    private String line() {
        int start = pos;
        while (true) {
            need(1);
            if (buf[pos++] == '\n') {
                return new String(buf, start, pos - 1 - start, StandardCharsets.ISO_8859_1);
            }
        }
    }

    private Object decodeLong(int n) {
        byte[] le = take(n);
        if (n == 0) {
            return 0L;
        }
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) {
            be[i] = le[n - 1 - i];
        }
        return PickleLiterals.narrow(new BigInteger(be));
    }
}
