package dev.ckptwarden.catalog.integrity;

import dev.ckptwarden.catalog.integrity.PickleReader.PyGlobal;
import dev.ckptwarden.catalog.integrity.PickleReader.PyObject;
import dev.ckptwarden.catalog.integrity.PickleReader.PyTuple;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a torch.save'd file says about itself, read from its pickle without executing anything.
 *
 * @param topLevelKeys      the top-level dict's string keys in file order (empty when the top level is not a dict)
 * @param epoch             {@code epoch} (Lightning and most loops), or Composer's timestamp epoch; null if absent
 * @param globalStep        {@code global_step} (Lightning), {@code global_steps} (DeepSpeed), {@code step},
 *                          {@code iteration} (Megatron), or Composer's timestamp batch; null if absent
 * @param lightningVersion  {@code pytorch-lightning_version}, null if absent
 * @param hasOptimizerState true when optimizer state is present and non-empty ({@code optimizer_states},
 *                          {@code optimizer}, {@code optimizer_state_dict}, {@code optimizers}, Composer's
 *                          {@code state.optimizers}); false when the top level is a dict without it; null when
 *                          the top level is not a dict
 * @param monitor           the Lightning ModelCheckpoint callback's {@code monitor}; null if none or unset
 * @param bestModelPath     its {@code best_model_path} (or Lightning 0.8's flat
 *                          {@code checkpoint_callback_best_model_path}) as written, possibly a Windows or
 *                          remote path; null if none or empty
 * @param entryNames        the zip's entry names; empty for legacy (non-zip) files
 * @param deepSpeed         the world sizes a DeepSpeed model-states file records; null for anything else
 * @param megatron          the parallel sizes a Megatron-LM rank file's {@code args} records; null for anything else
 */
public record TorchMetadata(Set<String> topLevelKeys, Integer epoch, Long globalStep, String lightningVersion,
        Boolean hasOptimizerState, String monitor, String bestModelPath, List<String> entryNames,
        DeepSpeedHeader deepSpeed, MegatronHeader megatron) {

    private static final List<String> STEP_KEYS = List.of("global_step", "global_steps", "step", "iteration");
    private static final List<String> OPTIMIZER_KEYS =
            List.of("optimizer_states", "optimizer", "optimizer_state_dict", "optimizers", "optimizer_state");

    public TorchMetadata {
        topLevelKeys = Collections.unmodifiableSet(new LinkedHashSet<>(topLevelKeys));
        entryNames = List.copyOf(entryNames);
    }

    /** Extracts the metadata from an unpickled top-level object. */
    static TorchMetadata fromPickle(Object root, List<String> entryNames) {
        Map<?, ?> top = asMap(root);
        if (top == null) {
            return new TorchMetadata(Set.of(), null, null, null, null, null, null, entryNames, null, null);
        }
        Set<String> keys = new LinkedHashSet<>();
        for (Object k : top.keySet()) {
            if (k instanceof String s) {
                keys.add(s);
            } else if (k instanceof Long n) {
                keys.add(n.toString());
            }
        }
        Integer epoch = asInt(top.get("epoch"));
        Long step = null;
        for (String k : STEP_KEYS) {
            step = asLong(top.get(k));
            if (step != null) {
                break;
            }
        }
        Map<?, ?> composerState = asMap(top.get("state"));
        Map<?, ?> timestamp = composerTimestamp(composerState);
        if (timestamp != null) {
            if (epoch == null) {
                epoch = asInt(timestamp.get("epoch"));
            }
            if (step == null) {
                step = asLong(timestamp.get("batch"));
            }
        }

        boolean optimizerState = false;
        for (String k : OPTIMIZER_KEYS) {
            optimizerState |= nonEmpty(top.get(k));
        }
        if (composerState != null) {
            optimizerState |= nonEmpty(composerState.get("optimizers")) || nonEmpty(composerState.get("_optimizers"));
        }

        Map<?, ?> callback = modelCheckpointState(asMap(top.get("callbacks")));
        String monitor = callback == null ? null : nonBlank(callback.get("monitor"));
        String best = callback == null ? null : nonBlank(callback.get("best_model_path"));
        if (best == null) {
            best = nonBlank(top.get("checkpoint_callback_best_model_path"));
        }
        return new TorchMetadata(keys, epoch, step, nonBlank(top.get("pytorch-lightning_version")),
                optimizerState, monitor, best, entryNames, DeepSpeedHeader.from(top),
                MegatronHeader.from(top));
    }

    /** Composer keeps time in {@code state.timestamp} (newer) or {@code state.timer.Timer} (0.5-era). */
    private static Map<?, ?> composerTimestamp(Map<?, ?> state) {
        if (state == null) {
            return null;
        }
        Map<?, ?> ts = asMap(state.get("timestamp"));
        if (ts != null) {
            return ts;
        }
        Map<?, ?> timer = asMap(state.get("timer"));
        return timer == null ? null : asMap(timer.get("Timer"));
    }

    /**
     * Lightning stores callback states under the class (before 1.5) or under
     * {@code "ModelCheckpoint{...state key...}"}; with several ModelCheckpoints, the one with a monitor wins.
     */
    private static Map<?, ?> modelCheckpointState(Map<?, ?> callbacks) {
        if (callbacks == null) {
            return null;
        }
        Map<?, ?> first = null;
        for (Map.Entry<?, ?> e : callbacks.entrySet()) {
            Map<?, ?> v = asMap(e.getValue());
            if (v == null) {
                continue;
            }
            Object k = e.getKey();
            boolean named = k instanceof String s && s.contains("ModelCheckpoint")
                    || k instanceof PyGlobal g && g.name().contains("ModelCheckpoint");
            if (!named && !v.containsKey("best_model_path")) {
                continue;
            }
            if (nonBlank(v.get("monitor")) != null) {
                return v;
            }
            if (first == null) {
                first = v;
            }
        }
        return first;
    }

    private static Map<?, ?> asMap(Object o) {
        if (o instanceof Map<?, ?> m) {
            return m;
        }
        // an OrderedDict subclass arrives as an opaque object that received SETITEMs
        if (o instanceof PyObject p && !p.items().isEmpty()) {
            return p.items();
        }
        return null;
    }

    private static boolean nonEmpty(Object o) {
        if (o == null) {
            return false;
        }
        if (o instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        if (o instanceof Collection<?> c) {
            return !c.isEmpty();
        }
        if (o instanceof PyTuple t) {
            return t.size() > 0;
        }
        if (o instanceof String s) {
            return !s.isEmpty();
        }
        return !(o instanceof Boolean b) || b;
    }

    private static Long asLong(Object o) {
        return o instanceof Long l ? l : null;
    }

    private static Integer asInt(Object o) {
        return o instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE ? Integer.valueOf(l.intValue())
                : null;
    }

    private static String nonBlank(Object o) {
        return o instanceof String s && !s.isEmpty() ? s : null;
    }
}
