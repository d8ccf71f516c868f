package dev.ckptwarden.watch;

import dev.ckptwarden.catalog.CheckpointState;
import dev.ckptwarden.config.AgentSettings;
import dev.ckptwarden.config.Config;
import dev.ckptwarden.config.RootConfig;
import dev.ckptwarden.registry.Registered;
import dev.ckptwarden.registry.Resolver;
import dev.ckptwarden.registry.SqliteRegistry;
import dev.ckptwarden.testing.TinyCheckpoints;
import dev.ckptwarden.testing.TreeBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An alias stays true when the checkpoint it names goes away after it was registered (a user's {@code rm}, a
 * framework's rotation): the link itself does not change, so nothing about its own files says it broke.
 * Found by hand: {@code ls} and {@code inspect} kept calling a dangling {@code last.ckpt} complete, resumable and
 * intact.
 */
class AliasTargetGoneTest {
    private static final Clock LATER = Clock.fixed(Instant.now().plus(Duration.ofDays(1)), ZoneOffset.UTC);

    @TempDir
    Path root;
    @TempDir
    Path state;

    /** One agent's reconciler across passes, as the daemon keeps it. */
    private Registered afterTwoPasses(Path alias, Runnable between) {
        RootConfig rc = RootConfig.watchOnly(root.toString());
        Config config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)), List.of(rc));
        try (SqliteRegistry registry = SqliteRegistry.open(state)) {
            Reconciler reconciler = new Reconciler(registry, LATER);
            Registered before = find(reconciler.reconcile(config, rc).checkpoints(), alias);
            assertThat(before.state()).as("the alias while its target is there").isEqualTo(CheckpointState.COMPLETE);
            between.run();
            reconciler.reconcile(config, rc);
            return registry.present(root.toString()).get(alias.toString());
        }
    }

    private static Registered find(List<Registered> all, Path path) {
        return all.stream().filter(c -> c.path().equals(path)).findFirst().orElseThrow();
    }

    private static void delete(Path p) {
        try (java.util.stream.Stream<Path> all = Files.walk(p)) {
            for (Path x : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aLastCkptLinkWhoseTargetWasRemovedIsNoLongerCompleteOrResumable() throws IOException {
        Path run = Files.createDirectories(root.resolve("run"));
        TinyCheckpoints.torchZip(run.resolve("epoch=1-step=10.ckpt"), 1, 10L, true);
        Path target = TinyCheckpoints.torchZip(run.resolve("epoch=2-step=20.ckpt"), 2, 20L, true);
        Path last = Files.createSymbolicLink(run.resolve("last.ckpt"), target.getFileName());

        Registered now = afterTwoPasses(last, () -> delete(target));

        assertThat(now.state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(now.problems()).containsExactly("dangling symlink to epoch=2-step=20.ckpt");
        assertThat(now.resumable()).as("nothing to resume from behind a dangling link").isNotEqualTo(Boolean.TRUE);
        try (SqliteRegistry registry = SqliteRegistry.open(state)) {
            assertThat(Resolver.resolve(List.copyOf(registry.present(root.toString()).values()), "latest", false, null))
                    .map(Registered::path).contains(run.resolve("epoch=1-step=10.ckpt"));
        }
    }

    @Test
    void aDanglingLinkWhoseTargetIsWrittenAgainIsCompleteAgain() throws IOException {
        Path run = Files.createDirectories(root.resolve("run"));
        Path target = run.resolve("epoch=2-step=20.ckpt");
        Path last = Files.createSymbolicLink(run.resolve("last.ckpt"), target.getFileName());
        TinyCheckpoints.torchZip(target, 2, 20L, true);
        RootConfig rc = RootConfig.watchOnly(root.toString());
        Config config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)), List.of(rc));
        try (SqliteRegistry registry = SqliteRegistry.open(state)) {
            Reconciler reconciler = new Reconciler(registry, LATER);
            reconciler.reconcile(config, rc);
            Files.delete(target);
            reconciler.reconcile(config, rc);
            assertThat(registry.present(root.toString()).get(last.toString()).state()).isEqualTo(CheckpointState.CORRUPT);
            TinyCheckpoints.torchZip(target, 2, 20L, true);
            reconciler.reconcile(config, rc);
            Registered again = registry.present(root.toString()).get(last.toString());
            assertThat(again.state()).isEqualTo(CheckpointState.COMPLETE);
            assertThat(again.problems()).isEmpty();
        }
    }

    @Test
    void aDeepSpeedLatestNamingARemovedTagIsNoLongerComplete() throws IOException {
        Path run = Files.createDirectories(root.resolve("ds"));
        Instant old = Instant.now().minus(Duration.ofHours(2));
        TreeBuilder.deepSpeedTag(run.resolve("global_step100"), 100, 1, 1, false, old);
        Path tag = TreeBuilder.deepSpeedTag(run.resolve("global_step200"), 200, 1, 1, false, old);
        Path latest = Files.writeString(run.resolve("latest"), "global_step200");

        Registered now = afterTwoPasses(latest, () -> delete(tag));

        assertThat(now.state()).isEqualTo(CheckpointState.CORRUPT);
        assertThat(now.problems()).containsExactly("latest names tag 'global_step200' which does not exist here");
    }

    @Test
    void aLastCkptCopyWhoseOriginalWasRemovedStandsAsTheCheckpointItIs() throws IOException {
        Path run = Files.createDirectories(root.resolve("run"));
        Path target = TinyCheckpoints.torchZip(run.resolve("epoch=2-step=20.ckpt"), 2, 20L, true);
        Path last = Files.copy(target, run.resolve("last.ckpt"));
        RootConfig rc = RootConfig.watchOnly(root.toString());
        Config config = new Config(null, AgentSettings.defaults(state).withSettleTime(Duration.ofSeconds(10)), List.of(rc));
        try (SqliteRegistry registry = SqliteRegistry.open(state)) {
            Reconciler reconciler = new Reconciler(registry, LATER);
            reconciler.reconcile(config, rc);
            assertThat(registry.present(root.toString()).get(last.toString()).aliasOf()).isEqualTo(target);
            Files.delete(target);
            reconciler.reconcile(config, rc);
            Registered now = registry.present(root.toString()).get(last.toString());
            assertThat(now.aliasOf()).as("the only copy left of step 20 is no alias of anything").isNull();
            assertThat(now.state()).isEqualTo(CheckpointState.COMPLETE);
            assertThat(now.step()).isEqualTo(20L);
        }
    }
}
