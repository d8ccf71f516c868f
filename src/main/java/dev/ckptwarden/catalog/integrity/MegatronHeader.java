package dev.ckptwarden.catalog.integrity;

import dev.ckptwarden.catalog.integrity.PickleReader.PyObject;

import java.util.Map;

/**
 * What a Megatron-LM rank file ({@code iter_N/mp_rank_XX[_PPP]/model_optim_rng.pt}) records about the
 * save it belongs to: the parallel sizes in its pickled {@code args} (an {@code argparse.Namespace}),
 * which fix how many rank directories the save consists of.
 *
 * @param tensorParallel   {@code args.tensor_model_parallel_size}
 * @param pipelineParallel {@code args.pipeline_model_parallel_size}
 * @param expertParallel   {@code args.expert_model_parallel_size}, 1 when absent
 */
public record MegatronHeader(int tensorParallel, int pipelineParallel, int expertParallel) {

    /** The header of a Megatron save, or null when the dict has no {@code args} with usable sizes. */
    static MegatronHeader from(Map<?, ?> top) {
        if (!(top.get("args") instanceof PyObject args) || !(args.state() instanceof Map<?, ?> fields)) {
            return null;
        }
        Integer tp = size(fields.get("tensor_model_parallel_size"));
        Integer pp = size(fields.get("pipeline_model_parallel_size"));
        Integer ep = fields.containsKey("expert_model_parallel_size") ? size(fields.get("expert_model_parallel_size")) : 1;
        return tp == null || pp == null || ep == null ? null : new MegatronHeader(tp, pp, ep);
    }

    private static Integer size(Object o) {
        return o instanceof Long l && l > 0 && l <= 1 << 16 ? Integer.valueOf(l.intValue()) : null;
    }
}
