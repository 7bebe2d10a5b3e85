"""A TCP relay that behaves as a network link between this process and the
store: each direction carries ``rate`` bytes per second, shared by every
connection as one cable's would be, and delivers each chunk ``delay``
seconds after its last byte went out (half the round trip).

On loopback moving bytes costs almost nothing; a deployment has a network
between the server and the bucket. ``tc qdisc ... netem`` would emulate it
better, but needs root and a network namespace for the store, and would
slow every process on the machine if put on ``lo``: this is the portable
stand-in, for tests/benchmarks/bench_migration.py. The signature of each
request covers its Host header, which is forwarded untouched.
"""

import queue
import socket
import socketserver
import threading
import time

from tests.support import socket_bytes


class Direction:
    """One way of the link: a queue of bytes drained at ``rate``."""

    def __init__(self, rate, delay):
        self.rate = rate
        self.delay = delay
        self.lock = threading.Lock()
        self.free_at = 0.0

    def arrival(self, size):
        """When ``size`` bytes sent now reach the other end."""
        with self.lock:
            start = max(time.monotonic(), self.free_at)
            self.free_at = start + size / self.rate
            return self.free_at + self.delay


class Link(socketserver.ThreadingTCPServer):
    """Forwards every connection to ``target`` through the link."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target, *, rate, delay):
        self.target = target
        self.upstream = Direction(rate, delay)
        self.downstream = Direction(rate, delay)
        super().__init__(("127.0.0.1", 0), LinkHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def serve_in_background(self):
        # Polled often, so that shutdown() returns at once.
        threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()


class LinkHandler(socketserver.BaseRequestHandler):
    def handle(self):
        upstream = socket.create_connection(self.server.target)
        for sock in (upstream, self.request):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        back = threading.Thread(
            target=carry,
            args=(upstream, self.request, self.server.downstream),
            daemon=True,
        )
        back.start()
        carry(self.request, upstream, self.server.upstream)
        back.join(timeout=10)
        upstream.close()


def carry(source, destination, direction):
    """Read from ``source``; a second thread delivers each chunk to
    ``destination`` when the link would."""
    recv = uncounted("recv")
    chunks = queue.SimpleQueue()
    deliver = threading.Thread(target=deliver_chunks, args=(chunks, destination), daemon=True)
    deliver.start()
    try:
        while data := recv(source, 65536):
            chunks.put((direction.arrival(len(data)), data))
    except OSError:
        pass
    chunks.put(None)
    deliver.join(timeout=10)


def deliver_chunks(chunks, destination):
    sendall = uncounted("sendall")
    try:
        while (item := chunks.get()) is not None:
            at, data = item
            if (wait := at - time.monotonic()) > 0:
                time.sleep(wait)
            sendall(destination, data)
    except OSError:
        pass
    finally:
        try:
            destination.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def uncounted(name):
    """The socket method ``name`` as it is without ``socket_bytes``."""
    return socket_bytes.originals.get(name) or getattr(socket.socket, name)
