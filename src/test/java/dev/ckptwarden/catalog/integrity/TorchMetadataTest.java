package dev.ckptwarden.catalog.integrity;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Metadata extraction from the dict shapes that training frameworks save. */
class TorchMetadataTest {

    private static TorchMetadata read(byte[] pickle) {
        return TorchMetadata.fromPickle(new PickleReader(pickle).next(), List.of());
    }

    @Test
    void lightningWeightsOnlySaveHasNoOptimizerState() {
        byte[] p = PickleBytes.protocol2().emptyDict().mark()
                .str("epoch").integer(4).str("global_step").integer(500).str("pytorch-lightning_version").str("2.4.0")
                .str("state_dict").emptyDict().setItems().stop();
        TorchMetadata t = read(p);
        assertThat(t.hasOptimizerState()).isFalse();
        assertThat(t.epoch()).isEqualTo(4);
        assertThat(t.globalStep()).isEqualTo(500L);
        assertThat(t.topLevelKeys()).containsExactly("epoch", "global_step", "pytorch-lightning_version", "state_dict");
    }

    @Test
    void emptyOptimizerStateListIsNotResumable() {
        byte[] p = PickleBytes.protocol2().emptyDict().mark().str("optimizer_states").emptyList().setItems().stop();
        assertThat(read(p).hasOptimizerState()).isFalse();
    }

    @Test
    void plainTrainingLoopCheckpointWithOptimizerAndStep() {
        // torch.save({"model": ..., "optimizer": opt.state_dict(), "step": 1000}, "checkpoint_step_1000.pt")
        byte[] p = PickleBytes.protocol2().emptyDict().mark()
                .str("model").emptyDict()
                .str("optimizer").emptyDict().str("state").emptyDict().setItem()
                .str("step").integer(1000).setItems().stop();
        TorchMetadata t = read(p);
        assertThat(t.hasOptimizerState()).isTrue();
        assertThat(t.globalStep()).isEqualTo(1000L);
        assertThat(t.epoch()).isNull();
    }

    @Test
    void deepspeedModelStatesCountGlobalStepsAndKeepOptimizerElsewhere() {
        // ZeRO saves "optimizer": None in mp_rank_00_model_states.pt; the optimizer shards are separate files
        byte[] p = PickleBytes.protocol2().emptyDict().mark()
                .str("module").emptyDict().str("optimizer").none().str("global_steps").integer(7000)
                .str("ds_version").str("0.14.0").setItems().stop();
        TorchMetadata t = read(p);
        assertThat(t.globalStep()).isEqualTo(7000L);
        assertThat(t.hasOptimizerState()).isFalse();
    }

    @Test
    void newerComposerKeepsTimeInStateTimestamp() {
        byte[] p = PickleBytes.protocol2().emptyDict().mark()
                .str("state").emptyDict().mark()
                .str("timestamp").emptyDict().mark().str("epoch").integer(2).str("batch").integer(300).setItems()
                .str("optimizers").emptyDict().str("AdamW").emptyDict().setItem()
                .setItems().setItems().stop();
        TorchMetadata t = read(p);
        assertThat(t.epoch()).isEqualTo(2);
        assertThat(t.globalStep()).isEqualTo(300L);
        assertThat(t.hasOptimizerState()).isTrue();
    }

    @Test
    void withSeveralModelCheckpointsTheOneWithAMonitorIsReported() {
        byte[] p = PickleBytes.protocol2().emptyDict().mark().str("callbacks").emptyDict().mark()
                .str("ModelCheckpoint{'monitor': None, 'mode': 'min'}").emptyDict().mark()
                .str("monitor").none().str("best_model_path").str("/ckpt/last.ckpt").setItems()
                .str("EarlyStopping{'monitor': 'val_loss', 'mode': 'min'}").emptyDict().mark()
                .str("wait_count").integer(0).setItems()
                .str("ModelCheckpoint{'monitor': 'val/loss', 'mode': 'min'}").emptyDict().mark()
                .str("monitor").str("val/loss").str("best_model_path").str("C:\\runs\\epoch=3-val\\loss=0.1.ckpt").setItems()
                .setItems().setItems().stop();
        TorchMetadata t = read(p);
        assertThat(t.monitor()).isEqualTo("val/loss");
        assertThat(t.bestModelPath()).isEqualTo("C:\\runs\\epoch=3-val\\loss=0.1.ckpt");
    }

    @Test
    void callbacksKeyedByClassAsBeforeLightning15() {
        byte[] p = PickleBytes.protocol2().emptyDict().mark().str("callbacks").emptyDict().mark()
                .global("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint").emptyDict().mark()
                .str("monitor").str("val_acc").str("best_model_path").str("").setItems()
                .setItems().setItems().stop();
        TorchMetadata t = read(p);
        assertThat(t.monitor()).isEqualTo("val_acc");
        assertThat(t.bestModelPath()).as("an empty path means no best model yet").isNull();
    }

    @Test
    void aBareTensorHasNoKeysAndNoOptimizerVerdict() {
        byte[] p = PickleBytes.protocol2().global("torch._utils", "_rebuild_tensor_v2").mark().integer(0).tuple().reduce().stop();
        TorchMetadata t = read(p);
        assertThat(t.topLevelKeys()).isEmpty();
        assertThat(t.hasOptimizerState()).isNull();
        assertThat(t.epoch()).isNull();
    }

    @Test
    void anOrderedDictSubclassIsReadThroughItsItems() {
        // NEWOBJ of a dict subclass followed by SETITEMS, as collections.OrderedDict subclasses pickle
        byte[] p = PickleBytes.protocol2().global("my.module", "StateDict").op(')').op(0x81)
                .mark().str("epoch").integer(9).str("global_step").integer(90).setItems().stop();
        TorchMetadata t = read(p);
        assertThat(t.epoch()).isEqualTo(9);
        assertThat(t.globalStep()).isEqualTo(90L);
    }

    @Test
    void epochsBeyondIntAreDroppedNotWrapped() {
        byte[] p = PickleBytes.protocol2().emptyDict().str("epoch").integer(1L << 40).setItem().stop();
        assertThat(read(p).epoch()).isNull();
    }
}
