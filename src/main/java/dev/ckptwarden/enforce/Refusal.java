package dev.ckptwarden.enforce;

/** Why an eviction is not carried out: the words after {@code skipped:} and the detail. */
record Refusal(String why, String detail) {
}
