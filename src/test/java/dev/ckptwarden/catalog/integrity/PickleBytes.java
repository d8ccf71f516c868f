package dev.ckptwarden.catalog.integrity;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Writes protocol-2 pickle opcodes by hand, for tests that need a pickle of a given shape. */
final class PickleBytes {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static PickleBytes protocol2() {
        PickleBytes p = new PickleBytes();
        p.out.write(0x80);
        p.out.write(2);
        return p;
    }

    PickleBytes op(char opcode) {
        out.write(opcode);
        return this;
    }

    PickleBytes op(int opcode) {
        out.write(opcode);
        return this;
    }

    PickleBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write('X');
        writeLe(b.length, 4);
        out.writeBytes(b);
        return this;
    }

    PickleBytes integer(long v) {
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            out.write('J');
            writeLe(v, 4);
        } else {
            out.write(0x8a);
            out.write(8);
            writeLe(v, 8);
        }
        return this;
    }

    PickleBytes global(String module, String name) {
        out.write('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    PickleBytes emptyDict() {
        return op('}');
    }

    PickleBytes emptyList() {
        return op(']');
    }

    PickleBytes mark() {
        return op('(');
    }

    PickleBytes setItems() {
        return op('u');
    }

    PickleBytes setItem() {
        return op('s');
    }

    PickleBytes none() {
        return op('N');
    }

    PickleBytes tuple() {
        return op('t');
    }

    PickleBytes reduce() {
        return op('R');
    }

    PickleBytes appends() {
        return op('e');
    }

    byte[] stop() {
        out.write('.');
        return out.toByteArray();
    }

    private void writeLe(long v, int n) {
        for (int i = 0; i < n; i++) {
            out.write((int) (v >>> (8 * i)) & 0xff);
        }
    }
}
