package dev.ckptwarden.offload;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on 127.0.0.1 in front of a local server that can cut every connection once the client
 * has sent a number of bytes (and refuse new ones until {@link #heal()}), or flip one bit of the
 * client's byte stream at a given offset. Offsets count all bytes sent through the proxy.
 */
public final class FaultyTcpProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final int targetPort;
    private final AtomicLong upstream = new AtomicLong();
    private final AtomicLong downstream = new AtomicLong();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private volatile long cutAfter = Long.MAX_VALUE;
    private volatile long flipAt = -1;
    private volatile boolean broken;

    public FaultyTcpProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::accept, "faulty-proxy-accept");
        t.setDaemon(true);
        t.start();
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Cut everything once the client has sent {@code bytes} in total; refuse new connections until healed. */
    public void cutAfter(long bytes) {
        cutAfter = upstream.get() + bytes;
    }

    /** A partition: cut every connection now and refuse new ones until healed. */
    public void cut() {
        cutAll();
    }

    /** Flip the lowest bit of the client's byte at this many bytes from now. */
    void flipAt(long offset) {
        flipAt = upstream.get() + offset;
    }

    /** Bytes the server has sent to clients through this proxy so far. */
    public long downstream() {
        return downstream.get();
    }

    /** Connections are accepted again, and no cut or bit flip is pending. */
    public void heal() {
        broken = false;
        cutAfter = Long.MAX_VALUE;
        flipAt = -1;
    }

    /** Whether a cut happened (and the proxy has not been healed since). */
    public boolean wasCut() {
        return broken;
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                if (broken) {
                    client.close();
                    continue;
                }
                Socket server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                open.add(client);
                open.add(server);
                pump(client, server, true);
                pump(server, client, false);
            } catch (IOException e) {
                // listener closed, or the target went away: the client sees its connection fail
            }
        }
    }

    private void pump(Socket from, Socket to, boolean up) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 << 10];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    if (up) {
                        long start = upstream.getAndAdd(n);
                        long flip = flipAt;
                        if (flip >= start && flip < start + n) {
                            buf[(int) (flip - start)] ^= 1;
                        }
                        if (start + n > cutAfter) {
                            int keep = (int) Math.max(0, cutAfter - start);
                            out.write(buf, 0, keep);
                            out.flush();
                            cutAll();
                            return;
                        }
                    } else {
                        downstream.addAndGet(n);
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // one side closed
            } finally {
                close(from);
                close(to);
            }
        }, "faulty-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private void cutAll() {
        broken = true;
        for (Socket s : open) {
            close(s);
        }
        open.clear();
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        cutAll();
    }
}
