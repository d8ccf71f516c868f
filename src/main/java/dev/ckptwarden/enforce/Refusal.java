package dev.ckptwarden.enforce;

import java.util.Objects;

/** Why an eviction is not carried out, and more words on it (the detail). */
record Refusal(Outcome.Skip why, String detail) {
    Refusal {
        Objects.requireNonNull(why, "why");
    }

    Outcome outcome() {
        return Outcome.skipped(why, detail);
    }
}
