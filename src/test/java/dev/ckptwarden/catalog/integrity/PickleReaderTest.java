package dev.ckptwarden.catalog.integrity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ckptwarden.catalog.integrity.PickleReader.PersistentId;
import dev.ckptwarden.catalog.integrity.PickleReader.PickleException;
import dev.ckptwarden.catalog.integrity.PickleReader.PickleTruncatedException;
import dev.ckptwarden.catalog.integrity.PickleReader.PyGlobal;
import dev.ckptwarden.catalog.integrity.PickleReader.PyObject;
import dev.ckptwarden.catalog.integrity.PickleReader.PyTuple;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The interpreter reads every pickle protocol into plain values and never runs what a pickle names. */
class PickleReaderTest {

    /**
     * {@code pickle.dumps(d, protocol=p)} by CPython 3.11 for p = 0..5, where d = {'epoch': 3,
     * 'global_step': 1500, 'name': 'é-x', 'f': 1.5, 't': (1, 2), 'l': [1, None, True], 'big': 2**70,
     * 'neg': -5, 's': {7}, 'fs': frozenset([3])} plus 'b': b'ab' from protocol 3 and 'ba': bytearray(b'z') in 5.
     */
    private static final String[] CPYTHON = {
        "286470300a5665706f63680a70310a49330a7356676c6f62616c5f737465700a70320a49313530300a73566e616d650a70330a56e92d780a70340a7356660a70350a46312e350a7356740a70360a2849310a49320a7470370a73566c0a70380a286c70390a49310a614e614930310a6173566269670a7031300a4c313138303539313632303731373431313330333432344c0a73566e65670a7031310a492d350a7356730a7031320a635f5f6275696c74696e5f5f0a7365740a7031330a28286c7031340a49370a61747031350a527031360a735666730a7031370a635f5f6275696c74696e5f5f0a66726f7a656e7365740a7031380a28286c7031390a49330a61747032300a527032310a732e",
        "7d710028580500000065706f636871014b03580b000000676c6f62616c5f7374657071024ddc0558040000006e616d6571035804000000c3a92d7871045801000000667105473ff80000000000005801000000747106284b014b0274710758010000006c71085d7109284b014e4930310a655803000000626967710a4c313138303539313632303731373431313330333432344c0a58030000006e6567710b4afbffffff580100000073710c635f5f6275696c74696e5f5f0a7365740a710d285d710e4b076174710f527110580200000066737111635f5f6275696c74696e5f5f0a66726f7a656e7365740a7112285d71134b0361747114527115752e",
        "80027d710028580500000065706f636871014b03580b000000676c6f62616c5f7374657071024ddc0558040000006e616d6571035804000000c3a92d7871045801000000667105473ff800000000000058010000007471064b014b0286710758010000006c71085d7109284b014e88655803000000626967710a8a0900000000000000004058030000006e6567710b4afbffffff580100000073710c635f5f6275696c74696e5f5f0a7365740a710d5d710e4b076185710f527110580200000066737111635f5f6275696c74696e5f5f0a66726f7a656e7365740a71125d71134b0361857114527115752e",
        "80037d710028580500000065706f636871014b03580b000000676c6f62616c5f7374657071024ddc0558040000006e616d6571035804000000c3a92d7871045801000000667105473ff800000000000058010000007471064b014b0286710758010000006c71085d7109284b014e8865580100000062710a43026162710b5803000000626967710c8a0900000000000000004058030000006e6567710d4afbffffff580100000073710e636275696c74696e730a7365740a710f5d71104b0761857111527112580200000066737113636275696c74696e730a66726f7a656e7365740a71145d71154b0361857116527117752e",
        "8004958a000000000000007d94288c0565706f6368944b038c0b676c6f62616c5f73746570944ddc058c046e616d65948c04c3a92d78948c016694473ff80000000000008c0174944b014b0286948c016c945d94284b014e88658c01629443026162948c03626967948a090000000000000000408c036e6567944afbffffff8c0173948f94284b07908c02667394284b039194752e",
        "8005959a000000000000007d94288c0565706f6368944b038c0b676c6f62616c5f73746570944ddc058c046e616d65948c04c3a92d78948c016694473ff80000000000008c0174944b014b0286948c016c945d94284b014e88658c01629443026162948c03626967948a090000000000000000408c036e6567944afbffffff8c0173948f94284b07908c02667394284b0391948c026261949601000000000000007a94752e",
    };

    @ParameterizedTest(name = "protocol {0}")
    @ValueSource(ints = {0, 1, 2, 3, 4, 5})
    void readsWhatCpythonWritesInEveryProtocol(int protocol) {
        byte[] bytes = HexFormat.of().parseHex(CPYTHON[protocol]);
        PickleReader r = new PickleReader(bytes);
        Map<?, ?> d = (Map<?, ?>) r.next();
        assertThat(r.position()).isEqualTo(bytes.length);
        assertThat(d.get("epoch")).isEqualTo(3L);
        assertThat(d.get("global_step")).isEqualTo(1500L);
        assertThat(d.get("name")).isEqualTo("é-x");
        assertThat(d.get("f")).isEqualTo(1.5);
        assertThat(d.get("t")).isEqualTo(new PyTuple(List.of(1L, 2L)));
        assertThat(d.get("l")).isEqualTo(Arrays.asList(1L, null, true));
        assertThat(d.get("big")).isEqualTo(BigInteger.TWO.pow(70));
        assertThat(d.get("neg")).isEqualTo(-5L);
        assertThat(d.get("s")).isEqualTo(Set.of(7L));
        assertThat(d.get("fs")).isEqualTo(Set.of(3L));
        if (protocol >= 3) {
            assertThat((byte[]) d.get("b")).containsExactly('a', 'b');
        }
        if (protocol == 5) {
            assertThat((byte[]) d.get("ba")).containsExactly('z');
        }
    }

    @Property(tries = 200)
    void integersRoundTripThroughBinintAndLong1(@ForAll long value) {
        byte[] p = PickleBytes.protocol2().integer(value).stop();
        assertThat(new PickleReader(p).next()).isEqualTo(value);
    }

    /** {@code cos\nsystem\n(S'echo pwned'\ntR.}: the classic malicious pickle stays inert data. */
    @Test
    void reduceOfAGlobalIsAnOpaqueObjectNotACall() {
        byte[] evil = PickleBytes.protocol2().global("os", "system").mark().str("touch /tmp/pwned").tuple().reduce().stop();
        Object v = new PickleReader(evil).next();
        assertThat(v).isInstanceOf(PyObject.class);
        PyObject o = (PyObject) v;
        assertThat(o.typeName()).isEqualTo("os.system");
        assertThat(o.callable()).isEqualTo(new PyGlobal("os", "system"));
        assertThat(o.args()).isEqualTo(new PyTuple(List.of("touch /tmp/pwned")));
    }

    @Test
    void buildAndPersistentIdsAreRecordedNotResolved() {
        byte[] p = PickleBytes.protocol2().global("torch._utils", "_rebuild_tensor_v2")
                .mark().mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(6).tuple()
                .op('Q').integer(0).tuple().reduce()
                .emptyDict().str("k").integer(1).setItem().op('b').stop();
        PickleReader r = new PickleReader(p);
        PyObject tensor = (PyObject) r.next();
        assertThat(tensor.typeName()).isEqualTo("torch._utils._rebuild_tensor_v2");
        assertThat(tensor.state()).isEqualTo(Map.of("k", 1L));
        assertThat(r.persistentIds()).singleElement().extracting(PersistentId::pid)
                .isEqualTo(new PyTuple(List.of("storage", new PyGlobal("torch", "FloatStorage"), "0", "cpu", 6L)));
    }

    @Test
    void consecutivePicklesAreReadOneAtATime() {
        byte[] a = PickleBytes.protocol2().integer(7).stop();
        byte[] b = PickleBytes.protocol2().str("x").stop();
        byte[] both = new byte[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        PickleReader r = new PickleReader(both);
        assertThat(r.next()).isEqualTo(7L);
        assertThat(r.position()).isEqualTo(a.length);
        assertThat(r.next()).isEqualTo("x");
    }

    @Test
    void bytesEndingBeforeStopAreReportedAsTruncation() {
        byte[] full = HexFormat.of().parseHex(CPYTHON[4]);
        for (int cut = 0; cut < full.length; cut++) {
            byte[] part = Arrays.copyOf(full, cut);
            assertThatThrownBy(() -> new PickleReader(part).next()).as("cut at %d", cut)
                    .isInstanceOf(PickleTruncatedException.class);
        }
    }

    @Test
    void lengthFieldsLargerThanTheDataAreTruncationNotAHugeAllocation() {
        byte[] p = {(byte) 0x80, 4, (byte) 0x8d, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
            (byte) 0xff, (byte) 0xff, 0x7f, 'a'};
        assertThatThrownBy(() -> new PickleReader(p).next()).isInstanceOf(PickleTruncatedException.class);
    }

    @Test
    void malformedPicklesFailWithoutClaimingTruncation() {
        assertThatThrownBy(() -> new PickleReader(new byte[] {(byte) 0x80, 2, (byte) 0xff, '.'}).next())
                .isInstanceOf(PickleException.class).isNotInstanceOf(PickleTruncatedException.class)
                .hasMessageContaining("unknown opcode 0xff");
        assertThatThrownBy(() -> new PickleReader(new byte[] {(byte) 0x80, 2, 'h', 9, '.'}).next())
                .hasMessageContaining("memo index 9");
        assertThatThrownBy(() -> new PickleReader(new byte[] {(byte) 0x80, 2, 's', '.'}).next())
                .hasMessageContaining("stack underflow");
    }

    /** Found by PickleReaderFuzzTest: protocol 0's PUT and GET carry the memo index as text, which may be anything. */
    @Test
    void aProtocol0MemoIndexThatIsNotANumberIsAMalformedPickle() {
        assertThatThrownBy(() -> new PickleReader("Npabc\n.".getBytes(StandardCharsets.ISO_8859_1)).next())
                .isInstanceOf(PickleException.class).isNotInstanceOf(PickleTruncatedException.class)
                .hasMessageContaining("memo index");
        assertThatThrownBy(() -> new PickleReader("Np0\ng1x\n.".getBytes(StandardCharsets.ISO_8859_1)).next())
                .isInstanceOf(PickleException.class).isNotInstanceOf(PickleTruncatedException.class)
                .hasMessageContaining("memo index");
    }

    @Test
    void absurdTupleNestingIsRefused() {
        PickleBytes p = PickleBytes.protocol2().op(')');
        for (int i = 0; i < PickleReader.MAX_TUPLE_DEPTH + 5; i++) {
            p.op(0x85); // TUPLE1
        }
        byte[] bytes = p.stop();
        assertThatThrownBy(() -> new PickleReader(bytes).next()).hasMessageContaining("nested deeper");
    }

    @Test
    void aListUsedAsAKeyIsComparedByIdentitySoACycleCannotHangHashing() {
        // l = []; l.append(l); d = {}; d[l] = 1  (written by hand: CPython refuses to pickle an unhashable key)
        byte[] p = PickleBytes.protocol2().emptyDict().emptyList().op('q').op(0).op('h').op(0).op('a').integer(1)
                .setItem().stop();
        Map<?, ?> d = (Map<?, ?>) new PickleReader(p).next();
        assertThat(d).hasSize(1);
        assertThat(d.keySet().iterator().next()).isInstanceOf(PickleReader.IdentityKey.class);
    }

    @Test
    void python2OrderedDictOfPairsBecomesAMap() {
        byte[] p = PickleBytes.protocol2().global("collections", "OrderedDict").emptyList()
                .mark().emptyList().mark().str("a").integer(1).appends().emptyList().mark().str("b").integer(2).appends()
                .appends().op(0x85).reduce().stop();
        Map<?, ?> d = (Map<?, ?>) new PickleReader(p).next();
        assertThat(d).isEqualTo(Map.of("a", 1L, "b", 2L));
        assertThat(List.copyOf(d.keySet())).isEqualTo(List.of("a", "b"));
    }

    @Test
    void aPickleBuildingMillionsOfValuesIsRefusedBeforeTheHeapIs() {
        int n = (int) PickleReader.MAX_OBJECTS + 1;
        byte[] p = new byte[2 + 2 * n + 2];
        p[0] = (byte) 0x80;
        p[1] = 2;
        for (int i = 0; i < n; i++) {
            p[2 + 2 * i] = ']'; // EMPTY_LIST
            p[3 + 2 * i] = '0'; // POP
        }
        p[p.length - 2] = ']';
        p[p.length - 1] = '.';
        assertThatThrownBy(() -> new PickleReader(p).next()).isInstanceOf(PickleException.class)
                .hasMessage("pickle builds more than " + PickleReader.MAX_OBJECTS + " values");
    }
}
