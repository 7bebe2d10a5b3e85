"""A TCP relay standing in for the store's public address: it forwards
every connection unchanged to the store, and counts them."""

import socket
import socketserver
import threading


class Relay(socketserver.ThreadingTCPServer):
    """Forwards every connection to ``target`` unchanged, and counts them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target):
        self.target = target
        self.connections = 0
        super().__init__(("127.0.0.1", 0), RelayHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class RelayHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.connections += 1
        upstream = socket.create_connection(self.server.target)
        pump = threading.Thread(target=copy, args=(upstream, self.request), daemon=True)
        pump.start()
        copy(self.request, upstream)
        pump.join(timeout=10)
        upstream.close()


def copy(source, destination):
    try:
        while data := source.recv(65536):
            destination.sendall(data)
    except OSError:
        pass
    finally:
        try:
            destination.shutdown(socket.SHUT_WR)
        except OSError:
            pass
