package dev.ckptwarden.enforce;

import java.time.Instant;
import java.util.List;

/**
 * One line of the audit log ({@link AuditLog}).
 *
 * @param time     when the line was written (UTC)
 * @param phase    {@value #BEGIN} (written and forced to disk before anything is touched) or {@value #END}
 * @param eviction identifies one eviction; its begin and end lines carry the same value
 * @param path     the checkpoint's absolute path
 * @param root     the root's name
 * @param run      the run id
 * @param bytes    the checkpoint's size as planned (begin) or as found just before acting (end)
 * @param reason   {@code policy}, {@code quota}, {@code run_quota}, {@code disk_pressure} or {@code manual}
 * @param action   {@code delete}, {@code report} or {@code offload} (the root's configured action)
 * @param why      begin lines: the retention reasons behind the eviction; empty on end lines
 * @param outcome  end lines: {@code ok}, {@code skipped:<why>} or {@code failed:<why>}; null on begin lines
 * @param detail   end lines: more words on the outcome ("already gone", the path of a symbolic link), or null
 */
public record AuditRecord(
        Instant time,
        String phase,
        String eviction,
        String path,
        String root,
        String run,
        long bytes,
        String reason,
        String action,
        List<String> why,
        String outcome,
        String detail) {

    public static final String BEGIN = "begin";
    public static final String END = "end";

    public AuditRecord {
        why = why == null ? List.of() : List.copyOf(why);
    }
}
