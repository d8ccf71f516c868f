package dev.ckptwarden.catalog.layout;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ckptwarden.catalog.ParsedName;
import dev.ckptwarden.catalog.integrity.FileSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What the Hugging Face Trainer's {@code trainer_state.json} says about its checkpoint: step, epoch, the last
 * training loss and evaluation at or before that step, and {@code best_model_checkpoint}.
 *
 * <p>Read as a stream, one {@code log_history} entry at a time. The Trainer writes the run's whole log into
 * every checkpoint, so a long run's file is tens of megabytes ({@code logging_steps=1} over 450,000 steps: 69 MB)
 * and keeps growing; read whole into a tree it took several times that in memory per checkpoint inspected, and
 * above a size cap it made a good checkpoint look corrupt. The memory used here does not grow with the file.
 *
 * @param content             step, epoch and metrics as the name parser would give them
 * @param bestModelCheckpoint the {@code best_model_checkpoint} text, null when absent or not a string
 */
record TrainerState(ParsedName content, String bestModelCheckpoint) {

    /** log_history keys that describe the run, not the model's quality. */
    static final Set<String> NOT_METRICS = Set.of("epoch", "step", "total_flos", "train_runtime",
            "train_samples_per_second", "train_steps_per_second", "eval_runtime", "eval_samples_per_second",
            "eval_steps_per_second", "learning_rate", "grad_norm", "num_input_tokens_seen");

    /** Reads {@code file}; an IOException when it is empty or not JSON. */
    static TrainerState read(FileSource source, Path file) throws IOException {
        Pass first = pass(source, file, null);
        if (first.stepAfterLog && first.step != null) {
            // global_step came after log_history (the Trainer sorts its keys, so another writer): entries beyond
            // the step are only known to be beyond it now, so read the log again knowing the step.
            return pass(source, file, first.step).result();
        }
        return first.result();
    }

    private static Pass pass(FileSource source, Path file, Long knownStep) throws IOException {
        try (InputStream in = Channels.newInputStream(source.open(file));
             JsonParser p = JsonFiles.MAPPER.createParser(in)) {
            Pass pass = new Pass();
            JsonToken first = p.nextToken();
            if (first == null) {
                throw new IOException(file.getFileName() + " is empty");
            }
            if (first != JsonToken.START_OBJECT) {
                return pass; // valid JSON, but not the Trainer's object: nothing to read from it
            }
            ObjectNode top = JsonFiles.MAPPER.createObjectNode();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("log_history") && value == JsonToken.START_ARRAY) {
                    Long limit = knownStep != null ? knownStep : stepOf(top);
                    pass.stepAfterLog = limit == null;
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        pass.entry(entry(p), limit);
                    }
                } else if (value == JsonToken.START_ARRAY || value == JsonToken.START_OBJECT) {
                    p.skipChildren(); // nothing read from other structures; skipping keeps them out of memory
                    top.putNull(field);
                } else {
                    top.set(field, p.readValueAsTree());
                }
            }
            pass.finish(top);
            return pass;
        }
    }

    /** Entries of log_history with more numbers than this are cut there: real ones have a few dozen. */
    static final int MAX_ENTRY_FIELDS = 1024;

    /**
     * One log_history entry, at the parser's current token: its numbers and its step, field by field. Nested
     * values are skipped, so a planted or broken entry cannot make the reader hold more than
     * {@value #MAX_ENTRY_FIELDS} numbers; an entry that is not an object gives nothing.
     */
    private static Map<String, Double> entry(JsonParser p) throws IOException {
        Map<String, Double> nums = new LinkedHashMap<>();
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return nums;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if (value.isNumeric() && nums.size() < MAX_ENTRY_FIELDS) {
                nums.put(field, p.getDoubleValue());
            } else if (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) {
                p.skipChildren();
            }
        }
        return nums;
    }

    private static Long stepOf(ObjectNode top) {
        return top.hasNonNull("global_step") ? top.get("global_step").asLong() : null;
    }

    /** One reading of the file: the top-level fields and the last loss and evaluation at or before the step. */
    private static final class Pass {
        Long step;
        Integer epoch;
        String best;
        /** Whether log_history was read before global_step was known (then entries beyond the step were kept). */
        boolean stepAfterLog;
        Map<String, Double> lastEval;
        Double lastLoss;

        void entry(Map<String, Double> nums, Long limit) {
            Double step = nums.get("step");
            if (limit != null && step != null && step.longValue() > limit) {
                return;
            }
            nums.keySet().removeAll(NOT_METRICS);
            if (nums.keySet().stream().anyMatch(k -> k.startsWith("eval_"))) {
                lastEval = nums;
            } else if (nums.containsKey("loss")) {
                lastLoss = nums.get("loss");
            }
        }

        void finish(ObjectNode top) {
            step = stepOf(top);
            epoch = top.hasNonNull("epoch") ? (int) Math.floor(top.get("epoch").asDouble()) : null;
            JsonNode b = top.get("best_model_checkpoint");
            best = b != null && b.isTextual() ? b.asText() : null;
        }

        TrainerState result() {
            Map<String, Double> metrics = new LinkedHashMap<>();
            if (lastLoss != null) {
                metrics.put("loss", lastLoss);
            }
            if (lastEval != null) {
                metrics.putAll(lastEval);
            }
            return new TrainerState(new ParsedName(epoch, step, metrics, null, false), best);
        }
    }
}
