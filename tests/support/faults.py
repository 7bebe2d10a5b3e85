"""
A TCP proxy in front of the store that fails on demand: the tests' own
stalled, slow, cut or refusing store.

It reads each HTTP request a client sends (S3 clients send one at a time
on a connection), so a fault can target requests by method, path or
header: the HEAD of confirm, its ranged GET, the copy (a PUT with
``x-amz-copy-source``). Faults are switched on and off while the proxy
runs::

    proxy.stall("HEAD")                 # every HEAD from now on waits for ever
    proxy.stall("GET", after=100)       # GET answers stop after 100 bytes
    proxy.cut("GET", after=100)         # ... or the connection is cut there
    proxy.slow(0.5)                     # every request and answer chunk waits 0.5 s
    proxy.before("GET", delete_it)      # run delete_it(), then forward the GET
    proxy.answer(500, xml, "POST")      # every POST answered 500 here, not forwarded
    proxy.stall("HEAD", times=1)        # only the next HEAD
    proxy.refuse()                      # nothing listens any more
    proxy.heal()                        # all of it off

A stalled request is held open, never answered, until the client gives
up or the proxy stops; ``stalled`` counts them, ``most_held`` is the most
held at once.
"""

import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus

HEAD_END = b"\r\n\r\n"
# Bounds of the store's calls in tests that stall it, through the settings
# (the ``faulty_store`` fixture).
STORE_TIMEOUT = 0.5


@dataclass
class Request:
    method: str
    path: str
    headers: dict  # lower-case names


@dataclass
class Fault:
    kind: str  # "stall", "cut", "slow", "before", "answer"
    method: str = None  # None: every method
    match: object = None  # f(request) -> bool, or None
    times: int = None  # None: until healed
    after: int = 0  # bytes of the answer passed before a stall or cut
    delay: float = 0.0
    action: object = None
    hits: int = field(default=0)

    def applies(self, request):
        return (
            (self.times is None or self.hits < self.times)
            and (self.method is None or self.method == request.method)
            and (self.match is None or self.match(request))
        )


class FaultProxy:
    def __init__(self, target, host="127.0.0.1"):
        self.target = target
        self.host = host
        self.faults = []
        self.requests = []  # every Request seen, in order
        self.stalled = 0  # requests held, in all
        self.holding = 0  # requests held now
        self.most_held = 0  # requests held at once, at most
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.listener = None
        self.port = None
        self.connections = set()

    # --- Switching faults ------------------------------------------------------

    def add(self, fault):
        with self.lock:
            self.faults.append(fault)
        return fault

    def stall(self, method=None, *, after=0, times=None, match=None):
        return self.add(Fault("stall", method, match, times, after=after))

    def cut(self, method=None, *, after=0, times=None, match=None):
        return self.add(Fault("cut", method, match, times, after=after))

    def slow(self, delay, method=None, *, times=None, match=None):
        return self.add(Fault("slow", method, match, times, delay=delay))

    def before(self, method, action, *, times=1, match=None):
        return self.add(Fault("before", method, match, times, action=action))

    def answer(self, status, body, method=None, *, times=None, match=None):
        """Answer ``status`` with ``body`` (XML, as S3 answers errors) in the
        store's place: the request's body is read and dropped, and the
        connection closed."""
        reason = HTTPStatus(status).phrase
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        return self.add(Fault("answer", method, match, times, action=head.encode() + body))

    def refuse(self):
        """Stop listening and close every open connection: connections are
        refused until ``heal``."""
        with self.lock:
            listener, self.listener = self.listener, None
            connections = list(self.connections)
        if listener is not None:
            close(listener)  # shut down first: close alone leaves accept() listening
        for sock in connections:
            close(sock)

    def heal(self):
        with self.lock:
            self.faults = []
            listening = self.listener is not None
        if not listening and not self.stopping.is_set():
            self.listen()

    def fault_for(self, request):
        with self.lock:
            self.requests.append(request)
            for fault in self.faults:
                if fault.applies(request):
                    fault.hits += 1
                    return fault
        return None

    # --- Running -----------------------------------------------------------------

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self):
        self.listen()
        return self

    def listen(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port or 0))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        with self.lock:
            self.listener = listener
        threading.Thread(target=self.accept, args=(listener,), daemon=True).start()

    def accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed: refuse() or stop()
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def stop(self):
        self.stopping.set()
        self.refuse()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # --- One connection ------------------------------------------------------------

    def serve(self, client):
        upstream = None
        with self.lock:
            self.connections.add(client)
        try:
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.connections.add(upstream)
            answer = Answer(self, client, upstream)
            threading.Thread(target=answer.pump, daemon=True).start()
            buffered = b""
            while not self.stopping.is_set():
                request, head, length, buffered = read_head(client, buffered)
                if request is None:
                    return
                fault = self.fault_for(request)
                if fault is not None and fault.kind == "before":
                    fault.action()
                elif fault is not None and fault.kind == "stall" and not fault.after:
                    self.hold(client)
                    return
                elif fault is not None and fault.kind == "slow":
                    time.sleep(fault.delay)
                elif fault is not None and fault.kind == "answer":
                    forward(client, None, length, buffered)
                    client.sendall(fault.action)
                    return
                answer.expect(fault)
                # The head first: a client that sent "Expect: 100-continue"
                # waits for the store's answer before sending the body.
                upstream.sendall(head)
                buffered = forward(client, upstream, length, buffered)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    close(sock)
                    with self.lock:
                        self.connections.discard(sock)

    def hold(self, client):
        """Answer nothing until the client hangs up or the proxy stops."""
        with self.lock:
            self.stalled += 1
            self.holding += 1
            self.most_held = max(self.most_held, self.holding)
        client.settimeout(0.2)
        try:
            while not self.stopping.is_set():
                try:
                    if not client.recv(65536):
                        return
                except TimeoutError:
                    continue
                except OSError:
                    return
        finally:
            with self.lock:
                self.holding -= 1


class Answer:
    """The store's side of one connection: bytes to the client, with the
    fault of the request being answered."""

    def __init__(self, proxy, client, upstream):
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.fault = None
        self.passed = 0

    def expect(self, fault):
        self.fault = fault
        self.passed = 0

    def pump(self):
        try:
            while data := self.upstream.recv(65536):
                fault = self.fault
                if fault is not None and fault.kind == "slow":
                    time.sleep(fault.delay)
                if fault is not None and fault.kind in ("stall", "cut"):
                    room = fault.after - self.passed
                    if len(data) >= room:
                        self.client.sendall(data[:room])
                        if fault.kind == "stall":
                            self.proxy.hold(self.client)
                        break
                self.client.sendall(data)
                self.passed += len(data)
        except OSError:
            pass
        finally:
            close(self.client)
            close(self.upstream)


def read_head(sock, buffered):
    """The head of the next request on ``sock``: (Request, its bytes, the
    length of its body, what was read beyond the head), or ``None`` as the
    Request when the client hung up."""
    while HEAD_END not in buffered:
        data = sock.recv(65536)
        if not data:
            return None, b"", 0, b""
        buffered += data
    head, rest = buffered.split(HEAD_END, 1)
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    return Request(method, path, headers), head + HEAD_END, length, rest


def forward(client, upstream, length, buffered):
    """Pass ``length`` bytes of body on to ``upstream``, or drop them with
    ``None``; what the client sent beyond."""
    send = upstream.sendall if upstream is not None else lambda data: None
    while len(buffered) < length:
        send(buffered)
        length -= len(buffered)
        buffered = client.recv(65536)
        if not buffered:
            raise ConnectionResetError("the client hung up in a request body")
    send(buffered[:length])
    return buffered[length:]


def close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@contextmanager
def failing_updates_of(model, error):
    """Every statement that updates ``model``'s table raises ``error``, as
    the database would (disk full, connection lost): confirm's attachment,
    in one statement or in a transaction, fails where it writes the row."""
    from django.db import connection

    update = f"UPDATE {connection.ops.quote_name(model._meta.db_table)}"

    def fail(execute, sql, params, many, context):
        if update in sql:
            raise error
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail):
        yield
