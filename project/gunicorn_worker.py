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

``SO_REUSEPORT`` (gunicorn's ``reuse_port``: a socket per worker, the
kernel spreading connections among them) was measured and left: every
worker that gunicorn restarts (``max_requests``) takes the connections
queued on its socket down with it, reset, unless the host migrates them
(``net.ipv4.tcp_migrate_req``), and even then kept-alive clients saw
errors.
"""

from gunicorn.workers import gthread


class ThreadWorker(gthread.ThreadWorker):
    """``worker_class = "project.gunicorn_worker.ThreadWorker"``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Requests handed to the thread pool and not finished yet.
        self.in_progress = 0

    def has_free_thread(self):
        return self.in_progress < self.cfg.threads

    def set_accept_enabled(self, enabled):
        """gunicorn's loop enables listening while the worker holds fewer
        connections than ``worker_connections``; this worker also needs a
        thread free. Called again at each turn of the loop, so listening
        resumes as soon as a request finishes."""
        super().set_accept_enabled(enabled and self.has_free_thread())

    def enqueue_req(self, conn):
        self.in_progress += 1
        super().enqueue_req(conn)
        if not self.has_free_thread():
            self.set_accept_enabled(False)

    def finish_request(self, conn, fs):
        self.in_progress -= 1
        super().finish_request(conn, fs)

    def accept(self, listener):
        # The listener's event may come in the batch that filled the last thread.
        if self.has_free_thread():
            super().accept(listener)
