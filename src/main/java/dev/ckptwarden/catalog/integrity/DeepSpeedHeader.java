package dev.ckptwarden.catalog.integrity;

import java.util.Map;

/**
 * What a DeepSpeed model-states file ({@code mp_rank_XX_model_states.pt}, ZeRO-3's
 * {@code zero_pp_rank_D_mp_rank_XX_model_states.pt}) records about the save it belongs to: the world
 * sizes that fix how many shard files the save consists of. Read from the pickled header only.
 *
 * @param version     {@code ds_version}
 * @param dpWorldSize {@code dp_world_size}: one optimizer shard (and under ZeRO-3 one model shard) per data-parallel rank
 * @param mpWorldSize {@code mp_world_size}: one model-states file per model-parallel rank
 * @param zeroStage   {@code ds_config.zero_optimization.stage} when the model-states file says its optimizer
 *                    state lives elsewhere ({@code optimizer: None}) and the config was saved as a dict; 0 when
 *                    not known ({@code ds_config} saved as a file path, or no ZeRO)
 * @param bf16        {@code ds_config.bf16.enabled}: the optimizer shards are then named {@code bf16_zero_pp_rank_*}
 */
public record DeepSpeedHeader(String version, int dpWorldSize, int mpWorldSize, int zeroStage, boolean bf16) {

    public DeepSpeedHeader(String version, int dpWorldSize, int mpWorldSize) {
        this(version, dpWorldSize, mpWorldSize, 0, false);
    }

    /** The header of a DeepSpeed save, or null when the dict lacks {@code ds_version} or a usable world size. */
    static DeepSpeedHeader from(Map<?, ?> top) {
        if (!(top.get("ds_version") instanceof String version)) {
            return null;
        }
        Integer dp = positive(top.get("dp_world_size"));
        Integer mp = positive(top.get("mp_world_size"));
        if (dp == null || mp == null) {
            return null;
        }
        // DeepSpeedEngine._save_checkpoint stores the optimizer's state_dict in the model-states file only
        // without ZeRO; with ZeRO it writes None there and one *_optim_states.pt per rank instead.
        int stage = 0;
        boolean bf16 = false;
        if (top.containsKey("optimizer") && top.get("optimizer") == null && top.get("ds_config") instanceof Map<?, ?> cfg) {
            if (cfg.get("zero_optimization") instanceof Map<?, ?> zero && zero.get("stage") instanceof Long st
                    && st >= 1 && st <= 3) {
                stage = st.intValue();
            }
            bf16 = cfg.get("bf16") instanceof Map<?, ?> b && Boolean.TRUE.equals(b.get("enabled"));
        }
        return new DeepSpeedHeader(version, dp, mp, stage, bf16);
    }

    /** A world size as written; absurd values (a hostile or damaged file) count as not recorded. */
    private static Integer positive(Object o) {
        return o instanceof Long l && l > 0 && l <= 1 << 20 ? Integer.valueOf(l.intValue()) : null;
    }
}
