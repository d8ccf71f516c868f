package dev.ckptwarden.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * An aligned plain-text table for human output: columns padded to their widest cell, control
 * characters in cells escaped ({@link TerminalText}).
 */
final class Table {
    private final List<String[]> rows = new ArrayList<>();
    private final int columns;

    Table(String... header) {
        this.columns = header.length;
        rows.add(header);
    }

    Table row(Object... cells) {
        String[] r = new String[columns];
        for (int i = 0; i < columns; i++) {
            Object v = i < cells.length ? cells[i] : null;
            // Every cell is escaped: names come from the file system and may hold newlines or ESC.
            r[i] = v == null ? "-" : TerminalText.escape(v.toString());
        }
        rows.add(r);
        return this;
    }

    boolean isEmpty() {
        return rows.size() == 1;
    }

    void print(PrintStream out) {
        int[] width = new int[columns];
        for (String[] r : rows) {
            for (int i = 0; i < columns; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        // Rows are written in blocks: println per row made one write() per row (System.out flushes on
        // each line), 20,000 system calls for a scan of 20,000 checkpoints.
        StringBuilder block = new StringBuilder(1 << 16);
        String newline = System.lineSeparator();
        for (String[] r : rows) {
            int start = block.length();
            for (int i = 0; i < columns; i++) {
                block.append(r[i]);
                if (i < columns - 1) {
                    for (int pad = width[i] - r[i].length() + 2; pad > 0; pad--) {
                        block.append(' ');
                    }
                }
            }
            int end = block.length();
            while (end > start && Character.isWhitespace(block.charAt(end - 1))) {
                end--;
            }
            block.setLength(end);
            block.append(newline);
            if (block.length() >= 1 << 16) {
                out.print(block);
                block.setLength(0);
            }
        }
        out.print(block);
        out.flush();
    }
}
