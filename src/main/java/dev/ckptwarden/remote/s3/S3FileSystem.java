package dev.ckptwarden.remote.s3;

import org.apache.commons.vfs2.Capability;
import org.apache.commons.vfs2.FileName;
import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileSystemOptions;
import org.apache.commons.vfs2.provider.AbstractFileName;
import org.apache.commons.vfs2.provider.AbstractFileSystem;
import software.amazon.awssdk.services.s3.S3Client;

import java.util.Collection;

/** One bucket seen through {@link S3FileProvider}; owns its {@link S3Client}. */
public final class S3FileSystem extends AbstractFileSystem {
    private final S3Client client;
    private final String bucket;
    private final long partSize;
    private final int partsInFlight;

    S3FileSystem(FileName rootName, FileSystemOptions options, S3Client client, String bucket, long partSize,
                 int partsInFlight) {
        super(rootName, null, options);
        this.client = client;
        this.bucket = bucket;
        this.partSize = partSize;
        this.partsInFlight = partsInFlight;
    }

    S3Client client() {
        return client;
    }

    String bucket() {
        return bucket;
    }

    long partSize() {
        return partSize;
    }

    int partsInFlight() {
        return partsInFlight;
    }

    @Override
    protected FileObject createFile(AbstractFileName name) {
        return new S3FileObject(name, this);
    }

    @Override
    protected void addCapabilities(Collection<Capability> caps) {
        caps.addAll(S3FileProvider.CAPABILITIES);
    }

    @Override
    protected void doCloseCommunicationLink() {
        client.close();
    }
}
