package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.RemoteLocation;

import java.nio.file.Path;

/** Something a scan could not read, reported to the user while the rest of the scan goes on. */
public record ScanProblem(String root, Path path, String message) {
    @Override
    public String toString() {
        return RemoteLocation.text(path) + ": " + message;
    }
}
