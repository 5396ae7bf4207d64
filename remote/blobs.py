"""A blob read from an upstream as a stream of chunks, hashed as they pass.

    with registry.open_blob(repo, digest) as blob:
        for chunk in blob:      # ~1 MiB bytes objects; the last iteration step checks the digest
            ...

Truncation (fewer bytes than announced, or a broken connection) raises RemoteUnavailable; bytes
that do not hash to the digest raise DigestMismatch, after the last chunk and before the iteration
ends, so a consumer that commits only after a complete iteration never commits bad bytes.
"""

import hashlib

import requests
import urllib3.exceptions

from remote.errors import DigestMismatch, RemoteUnavailable

CHUNK = 1 << 20
STREAM_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
    OSError,
)


def hasher_for(digest, upstream):
    algorithm, _, hexpart = digest.partition(":")
    if algorithm not in ("sha256", "sha512") or not hexpart:
        raise DigestMismatch(f"unsupported digest {digest!r}", upstream)
    return hashlib.new(algorithm)


class RemoteBlob:
    def __init__(self, response, digest, upstream, what, chunk_size=CHUNK):
        self._response = response
        self.digest = digest
        self.upstream = upstream
        self.what = what
        self.chunk_size = chunk_size
        length = response.headers.get("Content-Length")
        self.size = int(length) if length and length.isdigit() else None
        self.received = 0
        self._hash = hasher_for(digest, upstream)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        self._response.close()

    def __iter__(self):
        raw = self._response.raw
        try:
            for chunk in raw.stream(self.chunk_size, decode_content=False):
                if not chunk:
                    continue
                self._hash.update(chunk)
                self.received += len(chunk)
                if self.size is not None and self.received > self.size:
                    raise RemoteUnavailable(
                        f"{self.what}: more bytes than its Content-Length {self.size}", self.upstream
                    )
                yield chunk
        except STREAM_ERRORS as exc:
            self.close()
            raise RemoteUnavailable(
                f"{self.what}: connection broken after {self.received} bytes ({type(exc).__name__})", self.upstream
            ) from None
        if self.size is not None and self.received != self.size:
            raise RemoteUnavailable(f"{self.what}: truncated at {self.received} of {self.size} bytes", self.upstream)
        actual = f"{self.digest.split(':', 1)[0]}:{self._hash.hexdigest()}"
        if actual != self.digest:
            raise DigestMismatch(f"{self.what}: the bytes hash to {actual}", self.upstream)
