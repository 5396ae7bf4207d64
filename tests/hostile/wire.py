"""A deliberately dumb HTTP/1.1 client on a raw socket: sends exactly the bytes it is given.

requests/urllib3 normalise paths (`..`), refuse bad header bytes and always frame bodies
correctly; hostile requests need none of that. Every request asks for `Connection: close`,
so an answer is whatever arrives until the server closes.
"""

import socket
from dataclasses import dataclass


@dataclass
class Answer:
    status: int | None  # None: the server closed the connection without an HTTP answer
    headers: dict
    body: bytes


def exchange(address, data, shutdown_write=False, timeout=30):
    """Send raw bytes on a fresh connection; read until the server closes it."""
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if shutdown_write:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # broken pipe, reset, not connected
            pass  # the server answered (and closed) before reading all of it: read what it said
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return parse(received)


def parse(received):
    if not received.startswith(b"HTTP/"):
        return Answer(None, {}, received)  # nothing, or not HTTP (a TLS alert)
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    if "chunked" in headers.get("transfer-encoding", ""):
        body = dechunk(body)
    return Answer(int(lines[0].split()[1]), headers, body)


def dechunk(body):
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, body = out + rest[:size], rest[size + 2 :]
    return out


def request(address, method, path, headers=None, body=b""):
    """A well-framed request (Content-Length set) with whatever path and header bytes it is given."""
    lines = [f"{method} {path} HTTP/1.1".encode("latin-1"), b"Host: 127.0.0.1", b"Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else value.encode("latin-1")))
    if body or method in ("PUT", "POST", "PATCH"):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return exchange(address, b"\r\n".join(lines) + b"\r\n\r\n" + body)
