"""
The production worker class (``project.gunicorn_worker.ThreadWorker``):
a worker takes a new connection only while it has a thread free, so that
connections spread over the workers rather than queue in one of them
while another sits idle. gunicorn runs it here with an app that answers
its process id (``tests.support.pid_app``).
"""

import http.client
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from project.seaweedfs import free_weed_ports
from tests.support.processes import BASE_DIR, CLEAN, stop, wait_for

WORKER = "project.gunicorn_worker.ThreadWorker"


@contextmanager
def gunicorn(tmp_path, *options):
    """gunicorn with this project's worker class and ``options`` (not
    ``gunicorn.conf.py``'s, which gunicorn would read from the folder);
    its port."""
    with gunicorn_process(tmp_path, *options) as (process, port):
        yield port


@contextmanager
def gunicorn_process(tmp_path, *options):
    """``gunicorn``'s process (its master) and port."""
    (port,) = free_weed_ports(1)
    no_config = tmp_path / "gunicorn.conf.py"
    no_config.write_text("")
    process = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "tests.support.pid_app:app",
            "--bind", f"127.0.0.1:{port}",
            "--worker-class", WORKER,
            "--log-level", "warning",
            "--config", str(no_config),
            *options,
        ],
        cwd=BASE_DIR,
        env=CLEAN,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/", timeout=30, process=process)
        yield process, port
    finally:
        stop(process)


def served_by(port, pause, requests=1):
    """The process ids that served ``requests`` requests of ``pause``
    seconds on one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        pids = []
        for _ in range(requests):
            connection.request("GET", f"/?{pause}")
            response = connection.getresponse()
            assert response.status == 200
            pids.append(response.read().decode())
        return pids
    finally:
        connection.close()


def at_once(count, function):
    """``function(i)`` for ``i`` in ``range(count)``, in threads started
    together; their answers in order."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return function(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count), timeout=60))


def test_gunicorn_conf_runs_this_worker():
    assert runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))["worker_class"] == WORKER


def test_connections_opened_at_once_spread_over_the_workers(tmp_path):
    """As a load balancer's pool or ``wrk`` opens them: gunicorn's own
    gthread worker often took three or all four of them in one process
    (in half the tries), which then served them all on its two threads."""
    with gunicorn(tmp_path, "--workers", "2", "--threads", "2") as port:
        for _ in range(5):
            pids = at_once(4, lambda i: served_by(port, 0.2, requests=3))
            # Kept alive: each connection stays with the process that took it.
            assert all(len(set(connection)) == 1 for connection in pids), pids
            assert sorted(Counter(connection[0] for connection in pids).values()) == [2, 2]


def slow_then_quick(port):
    """A request of a second and, once it holds its worker, a quick one on
    a new connection: the process ids that served each, and whether the
    quick one was answered first."""
    answered = []

    def slow():
        pid = served_by(port, 1)[0]
        answered.append("slow")
        return pid

    def quick():
        time.sleep(0.3)
        pid = served_by(port, 0)[0]
        answered.append("quick")
        return pid

    slow_pid, quick_pid = at_once(2, lambda i: (slow, quick)[i]())
    return slow_pid, quick_pid, answered[0] == "quick"


def test_a_new_connection_goes_to_a_worker_with_a_thread_free(tmp_path):
    with gunicorn(tmp_path, "--workers", "2", "--threads", "1") as port:
        for _ in range(3):
            slow_pid, quick_pid, quick_first = slow_then_quick(port)
            assert quick_pid != slow_pid
            assert quick_first, "the quick request waited for the slow one"


def test_workers_restarting_under_load_lose_no_request(tmp_path):
    """gunicorn restarts a worker after ``max_requests``; a connection
    kept alive with it is answered ``Connection: close`` and the client
    opens another. ``reuse_port`` (a socket per worker) reset the
    connections queued on a restarting worker's socket."""
    with gunicorn(tmp_path, "--workers", "2", "--threads", "2", "--max-requests", "15") as port:
        pids = at_once(4, lambda i: served_by(port, 0.005, requests=40))
        assert sum(len(connection) for connection in pids) == 160
        # Restarted: more processes served than there are workers.
        assert len({pid for connection in pids for pid in connection}) > 2


def test_a_new_connection_is_served_while_kept_alive_ones_keep_the_threads_busy(tmp_path):
    """More kept-alive connections than threads, each sending its next
    request as soon as it has its answer: the next request is queued before
    a thread finishes the previous one, so no thread is ever free. A new
    connection waited in the kernel's queue for as long as they kept coming
    (answered after 3.6 s, when they stopped); the stock worker answered it
    in 0.06 s."""
    with gunicorn(tmp_path, "--workers", "1", "--threads", "1") as port:
        done = threading.Event()

        def keep_busy(i):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                deadline = time.monotonic() + 4
                while not done.is_set() and time.monotonic() < deadline:
                    connection.request("GET", "/?0.05")
                    connection.getresponse().read()
            finally:
                connection.close()

        def new_connection(i):
            if i < 3:
                return keep_busy(i)
            time.sleep(0.5)
            start = time.monotonic()
            served_by(port, 0)
            done.set()
            return time.monotonic() - start

        waited = at_once(4, new_connection)[3]
        assert waited < 2, f"answered after {waited:.2f} s"


def test_a_stop_answers_a_connection_waiting_for_a_thread(tmp_path):
    """gunicorn stopped (SIGTERM, as a container is) while a connection,
    sent before, waits in the kernel's queue for the worker's thread: it was
    reset when the worker closed the listening socket, where the stock
    worker, which had taken it, answered it."""
    with gunicorn_process(tmp_path, "--workers", "1", "--threads", "1") as (process, port):

        def client(i):
            if i == 2:
                time.sleep(0.5)
                return process.send_signal(signal.SIGTERM)
            time.sleep(0.2 * i)
            try:
                return served_by(port, 1 - i)
            except OSError as error:
                return error

        slow, quick, _ = at_once(3, client)
        # Both answered, by the one worker (an error would be an OSError).
        assert quick == slow, (slow, quick)
