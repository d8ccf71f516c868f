import dev.ckptwarden.config.Offload;
import dev.ckptwarden.offload.OffloadReceipt;
import dev.ckptwarden.offload.Offloader;
import dev.ckptwarden.offload.PathSource;
import dev.ckptwarden.remote.RemoteFiles;
import dev.ckptwarden.remote.RemoteSettings;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The Java half of offload-throughput.sh: offloads checkpoints with ckpt-warden's {@link Offloader}
 * and, for S3, uploads the same bytes the plain way, in one JVM and one run. A Java source-file
 * program on target/classes plus the test classpath (S3Proxy); nothing to build.
 *
 * <pre>
 * java -cp CP bench/OffloadThroughput.java sftp URI IDENTITY KNOWN_HOSTS VERIFY CONCURRENCY DIR NAME...
 *     one offload of every NAME (a file or directory in DIR) to URI; prints "offload SECONDS BYTES"
 * java -cp CP bench/OffloadThroughput.java s3 BASEDIR ROUNDS CONCURRENCY DIR NAME...
 *     starts S3Proxy (filesystem store in BASEDIR), warms every method up on the first checkpoint, then
 *     ROUNDS times, each round starting with the next method: offload with verify: size, offload with
 *     verify: sha256, a plain SDK v2 PutObject of every file (RequestBody.fromFile, the same HTTP client),
 *     a plain SDK v2 multipart upload (8 MiB parts in sequence, as the offloader sends them), and
 *     `aws s3 cp --recursive` when the aws CLI is on the PATH; prints "METHOD ROUND SECONDS BYTES".
 * </pre>
 */
public final class OffloadThroughput {
    private static final String BUCKET = "bench";
    private static final String KEY = "bench-access";
    private static final String SECRET = "bench-secret";

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "sftp" -> sftp(args);
            case "s3" -> s3(args);
            default -> throw new IllegalArgumentException("mode sftp or s3, not " + args[0]);
        }
    }

    private static void sftp(String[] a) throws Exception {
        String uri = a[1];
        RemoteSettings settings = new RemoteSettings(Path.of(a[2]), null, Path.of(a[3]), null, null, null, 0, 0,
                Duration.ofSeconds(10), Duration.ofMinutes(2));
        Offload offload = new Offload(uri, a[4], null, Integer.parseInt(a[5]));
        Path dir = Path.of(a[6]);
        List<String> names = List.of(a).subList(7, a.length);
        long t = System.nanoTime();
        long bytes = offloadAll(settings, offload, dir, names);
        System.out.printf(Locale.ROOT, "offload %.3f %d%n", (System.nanoTime() - t) / 1e9, bytes);
    }

    /** One pass like the enforcer's: one RemoteFiles (one connection) for all, one checkpoint after another. */
    private static long offloadAll(RemoteSettings settings, Offload offload, Path dir, List<String> names)
            throws IOException {
        long bytes = 0;
        try (RemoteFiles remote = RemoteFiles.open(settings)) {
            Offloader offloader = new Offloader(remote);
            for (String n : names) {
                OffloadReceipt r = offloader.copy(offload, "bench", "run/" + n, new PathSource(dir, List.of(n)));
                bytes += r.bytes();
            }
        }
        return bytes;
    }

    private static void s3(String[] a) throws Exception {
        Path base = Files.createDirectories(Path.of(a[1]));
        int rounds = Integer.parseInt(a[2]);
        int concurrency = Integer.parseInt(a[3]);
        Path dir = Path.of(a[4]);
        List<String> names = List.of(a).subList(5, a.length);
        Properties p = new Properties();
        p.setProperty("jclouds.filesystem.basedir", base.toString());
        BlobStoreContext ctx = ContextBuilder.newBuilder("filesystem").overrides(p).credentials("identity", "credential")
                .buildView(BlobStoreContext.class);
        ctx.getBlobStore().createContainerInLocation(null, BUCKET);
        S3Proxy proxy = S3Proxy.builder().blobStore(ctx.getBlobStore())
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, KEY, SECRET)
                .endpoint(URI.create("http://127.0.0.1:0")).build();
        proxy.start();
        while (!proxy.getState().equals("STARTED")) {
            Thread.onSpinWait();
        }
        URI endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
        StaticCredentialsProvider creds = StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, SECRET));
        RemoteSettings settings = RemoteSettings.fromEnvironment(java.util.Map.of(), base).withS3(endpoint, "us-east-1",
                creds);
        S3Client plain = S3Client.builder().httpClientBuilder(UrlConnectionHttpClient.builder())
                .region(Region.US_EAST_1).credentialsProvider(creds).endpointOverride(endpoint).forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED).build();
        boolean aws = onPath("aws");
        List<String> methods = new ArrayList<>(List.of("offload-size", "offload-sha256", "sdk-put", "sdk-multipart"));
        if (aws) {
            methods.add("aws-s3-cp");
        }
        try {
            // Warm-up, untimed: the in-process S3Proxy (Jetty, the filesystem store) and the JIT start cold, and
            // whichever method ran first would pay for it; the agent and the CLI tools all run warm servers.
            for (String m : methods) {
                run(m, settings, plain, endpoint, concurrency, dir, List.of(names.get(0)));
            }
            clear(base.resolve(BUCKET));
            for (int round = 1; round <= rounds; round++) {
                // Each round starts with another method, so that no method always follows the same one.
                for (int i = 0; i < methods.size(); i++) {
                    String m = methods.get((i + round - 1) % methods.size());
                    long t = System.nanoTime();
                    long bytes = run(m, settings, plain, endpoint, concurrency, dir, names);
                    print(m, round, t, bytes);
                }
                clear(base.resolve(BUCKET));
            }
        } finally {
            plain.close();
            proxy.stop();
            ctx.close();
        }
    }

    /** One upload of every checkpoint by {@code method}; returns the bytes sent. */
    private static long run(String method, RemoteSettings settings, S3Client plain, URI endpoint, int concurrency, Path dir,
                            List<String> names) throws IOException, InterruptedException {
        switch (method) {
            case "offload-size", "offload-sha256" -> {
                String verify = method.substring("offload-".length());
                return offloadAll(settings, new Offload("s3://" + BUCKET + "/" + method, verify, null, concurrency), dir,
                        names);
            }
            case "sdk-put" -> {
                long bytes = 0;
                for (Path f : files(dir, names)) {
                    String key = "sdk/" + dir.relativize(f).toString().replace('\\', '/');
                    plain.putObject(r -> r.bucket(BUCKET).key(key), RequestBody.fromFile(f));
                    bytes += Files.size(f);
                }
                return bytes;
            }
            case "sdk-multipart" -> {
                // What the offloader does on S3, written plainly: 8 MiB parts, one after another.
                long bytes = 0;
                byte[] part = new byte[8 << 20];
                for (Path f : files(dir, names)) {
                    String key = "sdk-mpu/" + dir.relativize(f).toString().replace('\\', '/');
                    String id = plain.createMultipartUpload(r -> r.bucket(BUCKET).key(key)).uploadId();
                    List<CompletedPart> parts = new ArrayList<>();
                    try (InputStream in = Files.newInputStream(f)) {
                        for (int n; (n = in.readNBytes(part, 0, part.length)) > 0; ) {
                            int number = parts.size() + 1;
                            int len = n;
                            String etag = plain.uploadPart(r -> r.bucket(BUCKET).key(key).uploadId(id).partNumber(number)
                                    .contentLength((long) len), RequestBody.fromInputStream(
                                    new ByteArrayInputStream(part, 0, len), len)).eTag();
                            parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
                            bytes += n;
                        }
                    }
                    plain.completeMultipartUpload(r -> r.bucket(BUCKET).key(key).uploadId(id)
                            .multipartUpload(m -> m.parts(parts)));
                }
                return bytes;
            }
            case "aws-s3-cp" -> {
                Process proc = awsCopy(endpoint, dir, names);
                String out = new String(proc.getInputStream().readAllBytes());
                if (proc.waitFor() != 0) {
                    throw new IOException("aws s3 cp failed: " + out);
                }
                long bytes = 0;
                for (String n : names) {
                    try (Stream<Path> s = Files.walk(dir.resolve(n))) {
                        bytes += s.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
                    }
                }
                return bytes;
            }
            default -> throw new IllegalArgumentException(method);
        }
    }

    private static List<Path> files(Path dir, List<String> names) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String n : names) {
            try (Stream<Path> s = Files.walk(dir.resolve(n))) {
                s.filter(Files::isRegularFile).sorted().forEach(out::add);
            }
        }
        return out;
    }

    /** One {@code aws s3 cp --recursive} of a directory holding exactly the checkpoints (links to them). */
    private static Process awsCopy(URI endpoint, Path dir, List<String> names) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("aws", "--endpoint-url", endpoint.toString(), "--region", "us-east-1",
                "s3", "cp", "--recursive", "--only-show-errors", dir.toString(), "s3://" + BUCKET + "/awscli/");
        for (String n : names) {
            pb.command().addAll(List.of("--include", n + (Files.isDirectory(dir.resolve(n)) ? "/*" : "")));
        }
        pb.command().add(pb.command().indexOf("--recursive") + 1, "--exclude");
        pb.command().add(pb.command().indexOf("--exclude") + 1, "*");
        pb.environment().put("AWS_ACCESS_KEY_ID", KEY);
        pb.environment().put("AWS_SECRET_ACCESS_KEY", SECRET);
        // S3Proxy does not implement the newer flexible checksums (x-amz-checksum-*): only where required.
        pb.environment().put("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required");
        pb.environment().put("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required");
        pb.redirectErrorStream(true);
        return pb.start();
    }

    private static boolean onPath(String exe) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, exe))) {
                return true;
            }
        }
        return false;
    }

    private static void print(String what, int round, long startNanos, long bytes) {
        double s = (System.nanoTime() - startNanos) / 1e9;
        System.out.printf(Locale.ROOT, "%s %d %.3f %d%n", what, round, s, bytes);
    }

    /** Empties the bucket's directory in the filesystem store between rounds (disk space, same start each time). */
    private static void clear(Path bucketDir) throws IOException {
        if (!Files.exists(bucketDir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(bucketDir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(bucketDir)) {
                    Files.delete(p);
                }
            }
        }
    }
}
