package dev.ckptwarden.remote.s3;

import org.apache.commons.vfs2.FileObject;
import org.apache.commons.vfs2.FileSystemException;
import org.apache.commons.vfs2.NameScope;
import org.apache.commons.vfs2.RandomAccessContent;
import org.apache.commons.vfs2.util.FileObjectUtils;
import org.apache.commons.vfs2.util.RandomAccessMode;
import org.apache.commons.vfs2.FileType;
import org.apache.commons.vfs2.provider.AbstractFileName;
import org.apache.commons.vfs2.provider.AbstractFileObject;
import org.apache.commons.vfs2.provider.UriParser;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * One key (a file) or key prefix (a folder) of a bucket. A key that exists is a file; a name under
 * which other keys exist ({@code name/...}) is a folder; the bucket's root is always a folder.
 * Creating a folder writes nothing (a folder exists once something is written under it).
 */
public final class S3FileObject extends AbstractFileObject<S3FileSystem> {
    private HeadObjectResponse head;
    private S3UploadStream upload;
    /** Size and modification time as the parent's listing reported them (no HEAD needed), or null. */
    private S3Object listed;

    S3FileObject(AbstractFileName name, S3FileSystem fs) {
        super(name, fs);
    }

    /** The object key: the path without its leading '/' ("" for the bucket's root). */
    String key() {
        String path = getName().getPath();
        return path.startsWith("/") ? path.substring(1) : path;
    }

    @Override
    protected void doDetach() {
        head = null;
        listed = null;
    }

    @Override
    protected FileType doGetType() throws IOException {
        String key = key();
        if (key.isEmpty()) {
            return FileType.FOLDER;
        }
        try {
            head = fs().client().headObject(r -> r.bucket(fs().bucket()).key(key));
            return FileType.FILE;
        } catch (NoSuchKeyException absent) {
            head = null;
        } catch (S3Exception e) {
            if (e.statusCode() != 404) {
                throw describe("cannot stat", e);
            }
            head = null;
        } catch (SdkException e) {
            throw describe("cannot stat", e);
        }
        try {
            ListObjectsV2Response r = fs().client().listObjectsV2(b -> b.bucket(fs().bucket()).prefix(key + "/").maxKeys(1));
            return r.keyCount() != null && r.keyCount() > 0 || !r.contents().isEmpty() ? FileType.FOLDER
                    : FileType.IMAGINARY;
        } catch (SdkException e) {
            throw describe("cannot list", e);
        }
    }

    @Override
    protected String[] doListChildren() throws IOException {
        List<String> names = new ArrayList<>();
        forEachChild((n, object) -> names.add(UriParser.encode(n)));
        return names.toArray(String[]::new);
    }

    /**
     * Lists children with their type, size and modification time taken from the listing itself, so that
     * walking a prefix costs one LIST request per page instead of one HEAD per object.
     */
    @Override
    protected FileObject[] doListChildrenResolved() throws IOException {
        List<FileObject> children = new ArrayList<>();
        forEachChild((n, object) -> {
            if (n.indexOf('/') < 0) {
                children.add(child(n, object == null ? FileType.FOLDER : FileType.FILE, object));
            }
        });
        return children.toArray(FileObject[]::new);
    }

    /** One child of a listing: its name below this prefix, and its object (null for a sub-prefix, a folder). */
    @FunctionalInterface
    private interface ChildVisitor {
        void child(String name, S3Object object) throws FileSystemException;
    }

    /** Every child under this prefix, sub-prefixes of each page first, page after page ("/" as delimiter). */
    private void forEachChild(ChildVisitor visit) throws IOException {
        String key = key();
        String prefix = key.isEmpty() ? "" : key + "/";
        ListObjectsV2Request.Builder req = ListObjectsV2Request.builder().bucket(fs().bucket()).prefix(prefix).delimiter("/");
        try {
            String token = null;
            do {
                ListObjectsV2Response r = fs().client().listObjectsV2(req.continuationToken(token).build());
                for (CommonPrefix p : r.commonPrefixes()) {
                    String n = p.prefix().substring(prefix.length());
                    n = n.endsWith("/") ? n.substring(0, n.length() - 1) : n;
                    if (!n.isEmpty()) {
                        visit.child(n, null);
                    }
                }
                for (S3Object o : r.contents()) {
                    String n = o.key().substring(prefix.length());
                    if (!n.isEmpty()) {
                        visit.child(n, o);
                    }
                }
                token = Boolean.TRUE.equals(r.isTruncated()) ? r.nextContinuationToken() : null;
            } while (token != null);
        } catch (SdkException e) {
            throw describe("cannot list", e);
        }
    }

    private S3FileObject child(String name) throws FileSystemException {
        FileObject fo = getFileSystem().resolveFile(getFileSystem().getFileSystemManager()
                .resolveName(getName(), UriParser.encode(name), NameScope.CHILD));
        return (S3FileObject) FileObjectUtils.getAbstractFileObject(fo);
    }

    private S3FileObject child(String name, FileType type, S3Object object) throws FileSystemException {
        S3FileObject c = child(name);
        c.listed = object;
        c.injectType(type);
        return c;
    }

    @Override
    protected long doGetContentSize() throws IOException {
        S3Object l = listed;
        return l != null && l.size() != null ? l.size() : head().contentLength();
    }

    @Override
    protected long doGetLastModifiedTime() throws IOException {
        S3Object l = listed;
        return l != null && l.lastModified() != null ? l.lastModified().toEpochMilli() : head().lastModified().toEpochMilli();
    }

    /** Ranged reads: one GET per read of exactly the bytes asked for. */
    @Override
    protected RandomAccessContent doGetRandomAccessContent(RandomAccessMode mode) throws IOException {
        if (mode.requestWrite()) {
            throw new FileSystemException("random-access writes to an S3 object are not supported: "
                    + getName().getFriendlyURI());
        }
        return new S3RangedContent(this, getContent().getSize());
    }

    /** The object's bytes in {@code range} (an HTTP Range value). */
    InputStream ranged(String range) {
        return fs().client().getObject(r -> r.bucket(fs().bucket()).key(key()).range(range));
    }

    private HeadObjectResponse head() throws IOException {
        if (head == null) {
            try {
                head = fs().client().headObject(r -> r.bucket(fs().bucket()).key(key()));
            } catch (SdkException e) {
                throw describe("cannot stat", e);
            }
        }
        return head;
    }

    @Override
    protected InputStream doGetInputStream(int bufferSize) throws IOException {
        try {
            return fs().client().getObject(r -> r.bucket(fs().bucket()).key(key()));
        } catch (SdkException e) {
            throw describe("cannot read", e);
        }
    }

    @Override
    protected OutputStream doGetOutputStream(boolean append) throws IOException {
        if (append) {
            throw new FileSystemException("appending to an S3 object is not supported: " + getName().getFriendlyURI());
        }
        upload = new S3UploadStream(fs().client(), fs().bucket(), key(), fs().partSize(), getName().getFriendlyURI(),
                fs().partsInFlight());
        upload.abortStaleUploads();
        return upload;
    }

    /**
     * Gives up the upload in progress on this object, if any: its multipart upload is aborted and
     * closing its stream afterwards completes nothing. What a caller does when its source failed,
     * since an {@link OutputStream}'s close would otherwise publish a truncated object.
     *
     * @return a problem aborting (the server keeps the unfinished parts until a later upload of
     *         this key or a bucket lifecycle rule removes them), or null
     */
    public String abortUpload() {
        S3UploadStream u = upload;
        return u == null ? null : u.abort();
    }

    @Override
    protected void doDelete() throws IOException {
        try {
            if (head != null || doGetType() == FileType.FILE) {
                fs().client().deleteObject(r -> r.bucket(fs().bucket()).key(key()));
            }
        } catch (SdkException e) {
            throw describe("cannot delete", e);
        }
    }

    @Override
    protected void doCreateFolder() {
        // S3 has no folders: a key prefix exists once an object is written under it.
    }

    private S3FileSystem fs() {
        return getAbstractFileSystem();
    }

    private IOException describe(String what, SdkException e) {
        return new IOException(what + " " + getName().getFriendlyURI() + ": " + S3UploadStream.message(e), e);
    }
}
