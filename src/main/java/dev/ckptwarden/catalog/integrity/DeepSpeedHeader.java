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
 */
public record DeepSpeedHeader(String version, int dpWorldSize, int mpWorldSize) {

    /** The header of a DeepSpeed save, or null when the dict lacks {@code ds_version} or a usable world size. */
    static DeepSpeedHeader from(Map<?, ?> top) {
        if (!(top.get("ds_version") instanceof String version)) {
            return null;
        }
        Integer dp = positive(top.get("dp_world_size"));
        Integer mp = positive(top.get("mp_world_size"));
        return dp == null || mp == null ? null : new DeepSpeedHeader(version, dp, mp);
    }

    /** A world size as written; absurd values (a hostile or damaged file) count as not recorded. */
    private static Integer positive(Object o) {
        return o instanceof Long l && l > 0 && l <= 1 << 20 ? Integer.valueOf(l.intValue()) : null;
    }
}
