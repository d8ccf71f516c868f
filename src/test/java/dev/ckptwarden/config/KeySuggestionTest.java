package dev.ckptwarden.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class KeySuggestionTest {

    private static final List<String> RETENTION = List.of("keep_last", "keep_best", "keep_every", "keep_within");

    @Test
    void commonTyposFindTheIntendedKey() {
        assertThat(KeySuggestion.nearest("keep-last", RETENTION)).contains("keep_last");
        assertThat(KeySuggestion.nearest("Keep_Best", RETENTION)).contains("keep_best");
        assertThat(KeySuggestion.nearest("keep_evrey", RETENTION)).contains("keep_every");
        assertThat(KeySuggestion.nearest("keep_withn", RETENTION)).contains("keep_within");
    }

    @Test
    void distantWordsGetNoSuggestion() {
        assertThat(KeySuggestion.nearest("max_bytes", RETENTION)).isEmpty();
        assertThat(KeySuggestion.nearest("k", List.of("mode", "metric"))).isEmpty();
    }

    @Test
    void transpositionCountsAsOneEdit() {
        assertThat(KeySuggestion.distance("mteric", "metric")).isEqualTo(1);
        assertThat(KeySuggestion.distance("metric", "metric")).isZero();
        assertThat(KeySuggestion.distance("", "abc")).isEqualTo(3);
    }
}
