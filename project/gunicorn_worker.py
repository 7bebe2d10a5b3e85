"""
gunicorn's threaded worker, taking a new connection only while it has a
thread free to serve it.

gunicorn's workers share one listening socket, and the stock ``gthread``
worker accepts every connection it can, however busy its threads are
(gunicorn issues #908, #2191, #3433): whichever process wakes first takes
the connection, and its request waits in that process's queue while
another process sits idle. Kept-alive connections stay with the process
that accepted them, so a burst of them (a load balancer's pool, or ``wrk``)
often lands all on one process: measured in issue 17, at 2 workers × 8
threads, 16 connections were split 16–0 or 15–1 in some rounds and 8–8 in
others, leaving one core idle and the throughput of the same endpoint
swinging by half from one round to the next.

:class:`ThreadWorker` stops listening while as many requests are in
progress as it has threads, as gunicorn's sync worker does by nature: a
connection then waits in the kernel's queue until a process with a free
thread takes it. Kept-alive and pending connections are still served, and
``worker_connections`` still caps the connections a worker holds.

Their requests are queued in the thread pool even with no thread free, so a
worker that holds more kept-alive connections than threads (a load
balancer's pool larger than them, under load) may never have one free: the
next request of a kept-alive connection is queued before a thread finishes
the previous one. A new connection (a health check among them) would wait
in the kernel's queue for as long as they keep coming, where the stock
worker queues it with them. So, while requests wait in its thread pool, a
worker takes all the same a connection left waiting there for
:data:`UNTAKEN_AFTER`, which a process with a free thread would have taken
at once.

When gunicorn stops (SIGTERM, as a container is stopped), the connections
still waiting there were sent before the stop and no process will take them
any more: each worker takes those it can and answers them, with
``Connection: close``, as the stock worker would have (they were reset
otherwise, when the last worker closed the listening socket).

``SO_REUSEPORT`` (gunicorn's ``reuse_port``: a socket per worker, the
kernel spreading connections among them) was measured and left: every
worker that gunicorn restarts (``max_requests``) takes the connections
queued on its socket down with it, reset, unless the host migrates them
(``net.ipv4.tcp_migrate_req``), and even then kept-alive clients saw
errors.

It builds on the internals of gunicorn 27's gthread worker (``enqueue_req``,
``finish_request``, ``set_accept_enabled``), pinned in constraints.txt;
tests/project/test_gunicorn_worker.py runs it in gunicorn, so an upgrade
that changes them fails there.
"""

import select
import time

from gunicorn.workers import gthread

# Seconds: a connection waiting that long in the kernel's queue has no
# process with a free thread to go to. A worker looks at each turn of its
# loop (at least once a second).
UNTAKEN_AFTER = 0.5


class ThreadWorker(gthread.ThreadWorker):
    """``worker_class = "project.gunicorn_worker.ThreadWorker"``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Requests handed to the thread pool and not finished yet.
        self.in_progress = 0
        # Since when this worker, with no thread free, has seen a connection
        # waiting in the kernel's queue at every look (None: not waiting).
        self.untaken_since = None
        # Stopped by a signal (see handle_exit).
        self.signalled = False
        self.backlog_taken = False

    def init_process(self):
        # Whether a connection waits in the kernel's queue, without taking it.
        self.backlog = select.poll()
        for listener in self.sockets:
            self.backlog.register(listener, select.POLLIN)
        super().init_process()

    def has_free_thread(self):
        return self.in_progress < self.cfg.threads

    def may_accept(self):
        """A thread is free; or requests wait in the thread pool for one (the
        next ones of kept-alive connections, which may keep every thread busy
        for ever) and no process has taken the connection waiting in the
        kernel's queue for :data:`UNTAKEN_AFTER`: it then queues with them,
        as with the stock worker. With only the threads' own requests in
        progress, the connection waits for the first thread free in any
        process (taken sooner, the stock worker's way, it waited 5.8 s for a
        6 s request where another process freed a thread after 3 s)."""
        if self.has_free_thread():
            return True
        if not self.backlog.poll(0):
            self.untaken_since = None
            return False
        now = time.monotonic()
        if self.untaken_since is None:
            self.untaken_since = now
        return self.in_progress > self.cfg.threads and now - self.untaken_since >= UNTAKEN_AFTER

    def set_accept_enabled(self, enabled):
        """gunicorn's loop enables listening while the worker holds fewer
        connections than ``worker_connections``; this worker also needs a
        thread free (:meth:`may_accept`). Called again at each turn of the
        loop while not listening, so listening resumes as soon as a request
        finishes; and once more when it ends, when a stop takes the
        connections left waiting (:meth:`take_backlog`)."""
        super().set_accept_enabled(enabled and self.may_accept())
        if not enabled and self.signalled and not self.backlog_taken:
            self.take_backlog()

    def handle_exit(self, sig, frame):
        """SIGTERM: the master stopping (or reloading, or lowering the
        workers). Noted for gunicorn's loop, which disables listening once
        it ends: a signal handler must not accept connections."""
        self.signalled = True
        super().handle_exit(sig, frame)

    def take_backlog(self):
        """The connections waiting in the kernel's queue, up to
        ``worker_connections``, handed to the thread pool. Not when
        ``max_requests`` restarts the worker: the others and its successor
        still listen."""
        self.backlog_taken = True
        for listener in self.sockets:
            listener.setblocking(False)
            while self.nr_conns < self.worker_connections:
                taken = self.nr_conns
                super().accept(listener)
                if self.nr_conns == taken:
                    break

    def enqueue_req(self, conn):
        self.in_progress += 1
        super().enqueue_req(conn)
        if not self.may_accept():
            super().set_accept_enabled(False)

    def finish_request(self, conn, fs):
        self.in_progress -= 1
        if self.has_free_thread():
            # A connection waiting from now on is this worker's to take.
            self.untaken_since = None
        super().finish_request(conn, fs)

    def accept(self, listener):
        # The listener's event may come in the batch that filled the last
        # thread, or before a waiting connection was seen long enough: not
        # listening meanwhile, since the socket stays readable.
        if self.may_accept():
            super().accept(listener)
        else:
            super().set_accept_enabled(False)
