package dev.ckptwarden.remote;

import dev.ckptwarden.remote.s3.S3FileProvider;
import dev.ckptwarden.remote.s3.S3FileSystemConfigBuilder;
import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileSystemException;
import org.apache.commons.vfs2.FileSystemOptions;
import org.apache.commons.vfs2.cache.NullFilesCache;
import org.apache.commons.vfs2.impl.DefaultFileSystemManager;
import org.apache.commons.vfs2.provider.local.DefaultLocalFileProvider;
import org.apache.commons.vfs2.provider.sftp.IdentityInfo;
import org.apache.commons.vfs2.provider.sftp.SftpFileProvider;
import org.apache.commons.vfs2.provider.sftp.SftpFileSystemConfigBuilder;

import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * The one file-system abstraction for everything that is not the local disk: a Commons VFS manager
 * with exactly three schemes, {@code sftp://} (VFS's provider on JSch), {@code s3://}
 * ({@link S3FileProvider}) and {@code file://}; an absolute path is taken as {@code file://}. Objects
 * are not cached between look-ups, so what a caller sees is what the remote holds now.
 */
public final class RemoteFiles implements Closeable {
    private static final Set<String> SCHEMES = Set.of("sftp", "s3", "file");

    private final DefaultFileSystemManager manager;
    private final RemoteSettings settings;

    private RemoteFiles(DefaultFileSystemManager manager, RemoteSettings settings) {
        this.manager = manager;
        this.settings = settings;
    }

    public static RemoteFiles open(RemoteSettings settings) throws FileSystemException {
        DefaultFileSystemManager m = new DefaultFileSystemManager();
        m.setFilesCache(new NullFilesCache());
        m.addProvider("file", new DefaultLocalFileProvider());
        m.addProvider("sftp", new SftpFileProvider());
        m.addProvider("s3", new S3FileProvider());
        m.init();
        return new RemoteFiles(m, settings);
    }

    public RemoteSettings settings() {
        return settings;
    }

    /**
     * The file object at a target URI ({@code sftp://user@host[:port]/dir}, {@code s3://bucket/prefix},
     * {@code file:///dir}, or an absolute path). Resolving does not connect; the first operation does.
     *
     * @throws IOException with a one-line message naming the URI when it is not usable (unknown scheme,
     *                     a password in the URI, an unreadable passphrase file)
     */
    public FileObject resolve(String target) throws IOException {
        String text = target.strip();
        if (text.startsWith("/")) {
            text = Path.of(text).toUri().toString();
        }
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new IOException("not a valid URI: '" + target + "' (" + e.getReason() + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!SCHEMES.contains(scheme)) {
            throw new IOException("unsupported scheme in '" + target + "' (use sftp://, s3://, file:// or an absolute path)");
        }
        if (uri.getRawUserInfo() != null && uri.getRawUserInfo().contains(":")) {
            throw new IOException("'" + redact(uri) + "' carries a password; passwords are not accepted in URIs: use a key ("
                    + RemoteSettings.SFTP_IDENTITY + ") for sftp://, the AWS credential chain for s3://");
        }
        return manager.resolveFile(text, options(scheme));
    }

    private static String redact(URI uri) {
        return uri.getScheme() + "://" + uri.getRawUserInfo().substring(0, uri.getRawUserInfo().indexOf(':')) + ":***@"
                + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort()) + uri.getRawPath();
    }

    private FileSystemOptions options(String scheme) throws IOException {
        FileSystemOptions o = new FileSystemOptions();
        switch (scheme) {
            case "sftp" -> sftp(o);
            case "s3" -> s3(o);
            default -> {
            }
        }
        return o;
    }

    private void sftp(FileSystemOptions o) throws IOException {
        SftpFileSystemConfigBuilder b = SftpFileSystemConfigBuilder.getInstance();
        b.setStrictHostKeyChecking(o, "yes");
        b.setKnownHosts(o, settings.sftpKnownHosts().toFile());
        b.setPreferredAuthentications(o, "publickey");
        b.setUserDirIsRoot(o, false);
        b.setDisableDetectExecChannel(o, true);
        b.setLoadOpenSSHConfig(o, false);
        b.setConnectTimeout(o, settings.connectTimeout());
        b.setSessionTimeout(o, settings.readTimeout());
        if (settings.sftpIdentity() != null) {
            byte[] passphrase = null;
            if (settings.sftpPassphraseFile() != null) {
                try {
                    passphrase = Files.readString(settings.sftpPassphraseFile(), StandardCharsets.UTF_8).strip()
                            .getBytes(StandardCharsets.UTF_8);
                } catch (IOException e) {
                    throw new IOException("passphrase file " + settings.sftpPassphraseFile() + " ("
                            + RemoteSettings.SFTP_PASSPHRASE_FILE + "): cannot read: " + e.getMessage(), e);
                }
            }
            b.setIdentityProvider(o, new IdentityInfo(settings.sftpIdentity().toFile(), passphrase));
        }
    }

    private void s3(FileSystemOptions o) {
        S3FileSystemConfigBuilder b = S3FileSystemConfigBuilder.getInstance();
        if (settings.s3Endpoint() != null) {
            b.setEndpoint(o, settings.s3Endpoint());
        }
        if (settings.s3Region() != null) {
            b.setRegion(o, settings.s3Region());
        }
        if (settings.s3Credentials() != null) {
            b.setCredentials(o, settings.s3Credentials());
        }
        if (settings.s3PartSize() > 0) {
            b.setPartSize(o, settings.s3PartSize());
        }
        if (settings.s3MaxAttempts() > 0) {
            b.setMaxAttempts(o, settings.s3MaxAttempts());
        }
        b.setConnectTimeout(o, settings.connectTimeout());
        b.setSocketTimeout(o, settings.readTimeout());
    }

    @Override
    public void close() {
        manager.close();
    }
}
