package dev.ckptwarden.offload;

import dev.ckptwarden.remote.RemoteSettings;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.KeyPair;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.file.virtualfs.VirtualFileSystemFactory;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.config.keys.AuthorizedKeysAuthenticator;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.sftp.server.FileHandle;
import org.apache.sshd.sftp.server.SftpFileSystemAccessor;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;
import org.apache.sshd.sftp.server.SftpSubsystemProxy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An in-process SFTP server (Apache MINA SSHD) on 127.0.0.1 serving {@code home} as "/", with
 * public-key authentication only: the test's client key pair is generated here, its public half
 * put in an authorized_keys file, and the server's host key written to a known_hosts file, so the
 * client runs with strict host-key checking as in production. A {@link WriteFault} sees every write
 * the server makes to a file and can fail it, corrupt it, or drop the connection.
 */
public final class SftpTestServer implements AutoCloseable {
    public static final String USER = "tester";

    /** Sees each write: the file, its position, the data (mutable), and the total written to that handle before it. */
    interface WriteFault {
        WriteFault NONE = (session, file, position, data, before) -> { };

        void onWrite(ServerSession session, Path file, long position, ByteBuffer data, long before) throws IOException;
    }

    public final Path home;
    public final Path identity;
    public final Path otherIdentity;
    public final Path knownHosts;
    private final SshServer sshd;
    volatile WriteFault fault = WriteFault.NONE;
    final AtomicLong writes = new AtomicLong();

    private SftpTestServer(Path home, Path identity, Path otherIdentity, Path knownHosts, SshServer sshd) {
        this.home = home;
        this.identity = identity;
        this.otherIdentity = otherIdentity;
        this.knownHosts = knownHosts;
        this.sshd = sshd;
    }

    public static SftpTestServer start(Path dir) throws Exception {
        Path home = Files.createDirectories(dir.resolve("server-home"));
        Path client = Files.createDirectories(dir.resolve("client"));
        JSch jsch = new JSch();
        Path identity = client.resolve("id_ecdsa");
        KeyPair kp = KeyPair.genKeyPair(jsch, KeyPair.ECDSA, 256);
        kp.writePrivateKey(identity.toString());
        Path authorized = client.resolve("authorized_keys");
        kp.writePublicKey(authorized.toString(), "offload-test");
        Path otherIdentity = client.resolve("id_other");
        KeyPair.genKeyPair(jsch, KeyPair.ECDSA, 256).writePrivateKey(otherIdentity.toString());

        SshServer sshd = SshServer.setUpDefaultServer();
        sshd.setHost("127.0.0.1");
        sshd.setPort(0);
        SimpleGeneratorHostKeyProvider hostKeys = new SimpleGeneratorHostKeyProvider(client.resolve("host_key"));
        hostKeys.setAlgorithm("EC");
        sshd.setKeyPairProvider(hostKeys);
        sshd.setPublickeyAuthenticator(new AuthorizedKeysAuthenticator(authorized));
        sshd.setPasswordAuthenticator(null);
        sshd.setKeyboardInteractiveAuthenticator(null);
        sshd.setFileSystemFactory(new VirtualFileSystemFactory(home));
        SftpTestServer[] self = new SftpTestServer[1];
        sshd.setSubsystemFactories(List.of(new SftpSubsystemFactory.Builder()
                .withFileSystemAccessor(new FaultyAccessor(() -> self[0])).build()));
        sshd.start();
        Path knownHosts = client.resolve("known_hosts");
        java.security.PublicKey hostKey = hostKeys.loadKeys(null).iterator().next().getPublic();
        Files.writeString(knownHosts, "[127.0.0.1]:" + sshd.getPort() + " " + PublicKeyEntry.toString(hostKey) + "\n",
                StandardCharsets.US_ASCII);
        self[0] = new SftpTestServer(home, identity, otherIdentity, knownHosts, sshd);
        return self[0];
    }

    public int port() {
        return sshd.getPort();
    }

    /** {@code sftp://tester@127.0.0.1:<port><path>}. */
    public String uri(String path) {
        return "sftp://" + USER + "@127.0.0.1:" + port() + path;
    }

    /** Client settings: this server's known_hosts and the authorised key; short timeouts. */
    public RemoteSettings settings() {
        return new RemoteSettings(identity, null, knownHosts, null, null, null, 0, 0, Duration.ofSeconds(5),
                Duration.ofSeconds(20));
    }

    public void stop() throws IOException {
        sshd.stop(true);
    }

    @Override
    public void close() throws IOException {
        sshd.stop(true);
    }

    /** Passes every write of a file opened for writing through the server's current {@link WriteFault}. */
    private static final class FaultyAccessor implements SftpFileSystemAccessor {
        private final java.util.function.Supplier<SftpTestServer> server;

        FaultyAccessor(java.util.function.Supplier<SftpTestServer> server) {
            this.server = server;
        }

        @Override
        public SeekableByteChannel openFile(SftpSubsystemProxy subsystem, FileHandle handle, Path file, String handleId,
                                            Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
            SeekableByteChannel ch = SftpFileSystemAccessor.super.openFile(subsystem, handle, file, handleId, options, attrs);
            if (!options.contains(StandardOpenOption.WRITE)) {
                return ch;
            }
            return new FaultyChannel(ch, subsystem.getSession(), file, server.get());
        }
    }

    private static final class FaultyChannel implements SeekableByteChannel {
        private final SeekableByteChannel delegate;
        private final ServerSession session;
        private final Path file;
        private final SftpTestServer server;
        private long written;

        FaultyChannel(SeekableByteChannel delegate, ServerSession session, Path file, SftpTestServer server) {
            this.delegate = delegate;
            this.session = session;
            this.file = file;
            this.server = server;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            server.writes.incrementAndGet();
            server.fault.onWrite(session, file, delegate.position(), src, written);
            int n = delegate.write(src);
            written += n;
            return n;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return delegate.read(dst);
        }

        @Override
        public long position() throws IOException {
            return delegate.position();
        }

        @Override
        public SeekableByteChannel position(long p) throws IOException {
            delegate.position(p);
            return this;
        }

        @Override
        public long size() throws IOException {
            return delegate.size();
        }

        @Override
        public SeekableByteChannel truncate(long size) throws IOException {
            delegate.truncate(size);
            return this;
        }

        @Override
        public boolean isOpen() {
            return delegate.isOpen();
        }

        @Override
        public void close() throws IOException {
            delegate.close();
        }
    }
}
