"""Bytes through this process's sockets, counted as they pass, for the
upload-cost benchmark: the kernel's per-process counters (/proc/<pid>/io)
leave out ``recv`` and ``send``. Every Python socket counts: the clients'
requests and answers, the store's, Redis's. libpq's own I/O (PostgreSQL)
is not seen: a few hundred bytes per query, whatever the file's size."""

import socket
import threading

counts = {"received": 0, "sent": 0}
lock = threading.Lock()


def count(name, amount):
    with lock:
        counts[name] += amount


def counting(method, name, amount_of):
    def counted(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        count(name, amount_of(result, args))
        return result

    return counted


METHODS = ("recv", "recv_into", "send", "sendall")
originals = {}


def install():
    """Count from now on, in this process and those it forks."""
    cls = socket.socket
    if originals:
        return
    originals.update((name, getattr(cls, name)) for name in METHODS)
    cls.recv = counting(cls.recv, "received", lambda data, args: len(data))
    cls.recv_into = counting(cls.recv_into, "received", lambda size, args: size)
    cls.send = counting(cls.send, "sent", lambda size, args: size)
    cls.sendall = counting(cls.sendall, "sent", lambda _, args: len(args[0]))


def uninstall():
    """Stop counting: the sockets as they were."""
    for name, method in originals.items():
        setattr(socket.socket, name, method)
    originals.clear()
