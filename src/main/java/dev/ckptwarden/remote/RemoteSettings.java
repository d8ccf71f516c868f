package dev.ckptwarden.remote;

import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * How to reach remote targets; no secret is ever part of the configuration file.
 *
 * <p>SFTP: key-based authentication only. The private key is {@code CKPT_WARDEN_SFTP_IDENTITY}, else the
 * first of {@code ~/.ssh/id_ed25519}, {@code id_ecdsa}, {@code id_rsa} that exists; a passphrase, if the key
 * has one, is read from the file named by {@code CKPT_WARDEN_SFTP_PASSPHRASE_FILE}. Host keys are checked
 * strictly against {@code CKPT_WARDEN_SFTP_KNOWN_HOSTS}, else {@code ~/.ssh/known_hosts}: an unknown or
 * changed host key refuses the connection. The user is the one in the URI ({@code sftp://user@host/dir}).
 *
 * <p>S3: credentials and region from the AWS SDK's default chain ({@code AWS_ACCESS_KEY_ID} /
 * {@code AWS_SECRET_ACCESS_KEY}, {@code AWS_PROFILE}, web identity, instance roles; {@code AWS_REGION});
 * an S3-compatible store is named by {@code AWS_ENDPOINT_URL_S3} or {@code AWS_ENDPOINT_URL} (path-style
 * addressing is then used).
 *
 * @param sftpIdentity       private key file, or null to let none be offered (authentication then fails)
 * @param sftpPassphraseFile file holding the key's passphrase, or null
 * @param sftpKnownHosts     known_hosts file (need not exist: then no host is trusted)
 * @param s3Endpoint         endpoint of an S3-compatible store, or null for AWS
 * @param s3Region           region, or null for the SDK's chain
 * @param s3Credentials      credentials, or null for the SDK's default chain
 * @param s3PartSize         multipart part size in bytes (0: the provider's default)
 * @param s3MaxAttempts      attempts per S3 request (0: the SDK's default)
 * @param connectTimeout     how long a connection may take to open
 * @param readTimeout        how long a read on an open connection may wait (a peer that went silent)
 */
public record RemoteSettings(
        Path sftpIdentity,
        Path sftpPassphraseFile,
        Path sftpKnownHosts,
        URI s3Endpoint,
        String s3Region,
        AwsCredentialsProvider s3Credentials,
        long s3PartSize,
        int s3MaxAttempts,
        Duration connectTimeout,
        Duration readTimeout) {

    public static final String SFTP_IDENTITY = "CKPT_WARDEN_SFTP_IDENTITY";
    public static final String SFTP_PASSPHRASE_FILE = "CKPT_WARDEN_SFTP_PASSPHRASE_FILE";
    public static final String SFTP_KNOWN_HOSTS = "CKPT_WARDEN_SFTP_KNOWN_HOSTS";

    private static final List<String> DEFAULT_KEYS = List.of("id_ed25519", "id_ecdsa", "id_rsa");

    public RemoteSettings {
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(30) : connectTimeout;
        readTimeout = readTimeout == null ? Duration.ofMinutes(2) : readTimeout;
    }

    /** From the process environment and the user's home directory. */
    public static RemoteSettings fromEnvironment() {
        return fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /** From the given environment variables; {@code home} is where {@code .ssh/} is looked for. */
    public static RemoteSettings fromEnvironment(Map<String, String> env, Path home) {
        Path ssh = home.resolve(".ssh");
        Path identity = path(env.get(SFTP_IDENTITY));
        if (identity == null) {
            identity = DEFAULT_KEYS.stream().map(ssh::resolve).filter(Files::isRegularFile).findFirst().orElse(null);
        }
        Path knownHosts = path(env.get(SFTP_KNOWN_HOSTS));
        String endpoint = env.getOrDefault("AWS_ENDPOINT_URL_S3", env.get("AWS_ENDPOINT_URL"));
        return new RemoteSettings(identity, path(env.get(SFTP_PASSPHRASE_FILE)),
                knownHosts != null ? knownHosts : ssh.resolve("known_hosts"),
                endpoint == null || endpoint.isBlank() ? null : URI.create(endpoint.strip()), null, null, 0, 0, null, null);
    }

    private static Path path(String v) {
        return v == null || v.isBlank() ? null : Path.of(v.strip());
    }

    /** A copy with S3 set to an S3-compatible endpoint and fixed credentials (tests, or a caller that has them). */
    public RemoteSettings withS3(URI endpoint, String region, AwsCredentialsProvider credentials) {
        return new RemoteSettings(sftpIdentity, sftpPassphraseFile, sftpKnownHosts, endpoint, region, credentials,
                s3PartSize, s3MaxAttempts, connectTimeout, readTimeout);
    }

    /** A copy with other transfer limits. */
    public RemoteSettings withLimits(long partSize, int maxAttempts, Duration connect, Duration read) {
        return new RemoteSettings(sftpIdentity, sftpPassphraseFile, sftpKnownHosts, s3Endpoint, s3Region, s3Credentials,
                partSize, maxAttempts, connect, read);
    }
}
