"""gunicorn worker for a plain-HTTP registry: answer TLS handshakes at once.

docker, podman and skopeo try HTTPS first even for an insecure registry and
fall back to HTTP when the handshake fails. gunicorn would read the TLS
ClientHello as the start of a request line and wait for a CRLF that never
comes, so every client command stalled for its 10 s handshake timeout. This
worker peeks at a new connection's first byte and closes it when it is a TLS
handshake record (0x16); the client then falls back immediately.
"""

import socket

from gunicorn.workers.gthread import ThreadWorker

TLS_HANDSHAKE = b"\x16"


class RegistryThreadWorker(ThreadWorker):
    def handle(self, conn):
        if not getattr(conn, "berth_peeked", False):
            conn.berth_peeked = True
            try:
                first = conn.sock.recv(1, socket.MSG_PEEK)
            except OSError:
                return (False, conn)
            if first == TLS_HANDSHAKE:
                self.log.debug("closing a TLS handshake on the plain-HTTP port from %s", conn.client)
                return (False, conn)
        return super().handle(conn)
