package dev.ckptwarden.enforce;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The mount points strictly inside a root, from the kernel's own table ({@code /proc/self/mountinfo}):
 * where a start looks for the trash of another file system mounted inside a root. Nothing a user can
 * write inside a root chooses them; what is found there is still checked like the root's trash.
 */
final class MountPoints {
    static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private MountPoints() {
    }

    /**
     * The mount points below {@code realRoot} (a path with its links resolved), relative to it, parents
     * first; empty where the platform has no mount table.
     */
    static List<Path> inside(Path realRoot) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(MOUNTINFO, StandardCharsets.UTF_8);
        } catch (NoSuchFileException notLinux) {
            return List.of();
        }
        TreeSet<Path> out = new TreeSet<>();
        for (String line : lines) {
            String[] f = line.split(" ");
            if (f.length < 5) {
                continue;
            }
            Path mp = realRoot.getFileSystem().getPath(unescape(f[4]));
            if (mp.startsWith(realRoot) && !mp.equals(realRoot)) {
                out.add(realRoot.relativize(mp));
            }
        }
        return new ArrayList<>(out);
    }

    /** mountinfo writes a space, tab, newline and backslash in a path as {@code \ooo} (octal). */
    static String unescape(String field) {
        StringBuilder b = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).chars().allMatch(d -> d >= '0' && d <= '7')) {
                b.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
