"""HTTP/1.1 chunked request bodies: one grammar (`_Chunks`: chunk-size lines, terminators, trailers), read
two ways.

- ChunkedBody: under gunicorn, straight from the connection's buffered socket reader.
- ChunkedReader: from any file-like raw stream (runserver, registry_site/server/devserver.py, and a
  WSGI server that passes a chunked body through undecoded).

ChunkedBody, under gunicorn:

docker and podman stream every blob upload as `Transfer-Encoding: chunked`,
in chunks of 32 KiB (skopeo sends a Content-Length). gunicorn's own decoder re-slices the rest of
each socket read at every chunk boundary and collects its output in a BytesIO:
about 1 ms of CPU per MiB here, on the path of every push. This decoder keeps
one position in the current read, and copies each byte once.

It takes over only a body nobody has read yet (`take_over`); gunicorn's decoder
then never starts, so gunicorn's drain before the next request on the
connection finds nothing left. Until the terminating chunk and trailers have
been read, the connection is marked to close after the response: the bytes
left unread are part of this body, never the next request.
"""

import inspect

from images.errors import BlobUploadInvalid

MAX_LINE = 1024  # a chunk-size line (with extensions) or a trailer line
MAX_TRAILER_LINES = 64
_HEX = frozenset(b"0123456789abcdefABCDEF")


def chunk_size(line):
    """The size a chunk-size line gives (its extensions ignored), or BLOB_UPLOAD_INVALID.

    1-16 hex digits only: int() alone would take "0x10", "+5" or "1_0"."""
    digits = line.split(b";", 1)[0].strip()
    if not digits or len(digits) > 16 or not _HEX.issuperset(digits):
        raise BlobUploadInvalid("malformed chunk size")
    return int(digits, 16)


class _Chunks:
    """The chunked grammar over `_line()` (the next line with its line end, at most MAX_LINE bytes)."""

    def _line(self):
        raise NotImplementedError

    def _next_size(self):
        """The next chunk's size; after the last (0), the trailers are read up to the empty line."""
        line = self._line()
        if not line.endswith(b"\r\n"):
            raise BlobUploadInvalid("malformed chunk size")
        size = chunk_size(line)
        if not size:
            for _ in range(MAX_TRAILER_LINES):
                if self._line() == b"\r\n":
                    break
            else:
                raise BlobUploadInvalid("too many trailer lines")
        return size

    def _end_of_chunk(self):
        if self._line() != b"\r\n":
            raise BlobUploadInvalid("malformed chunk terminator")


def take_over(reader):
    """A ChunkedBody for gunicorn's ChunkedReader if it has not started, else None."""
    parser = getattr(reader, "parser", None)
    req = getattr(reader, "req", None)
    if not inspect.isgenerator(parser) or inspect.getgeneratorstate(parser) != inspect.GEN_CREATED:
        return None
    if reader.buf.tell() or not hasattr(getattr(req, "unreader", None), "unread"):
        return None
    return ChunkedBody(reader, req)


class ChunkedBody(_Chunks):
    def __init__(self, reader, req):
        reader.parser.close()
        reader.parser = None  # gunicorn's ChunkedReader now reads as an empty body
        self.req, self.unreader = req, req.unreader
        self.keep_alive = not req.must_close
        req.must_close = True  # until the whole body has been read
        self.data, self.pos = b"", 0
        self.left = 0  # bytes of the current chunk still to return
        self.done = False

    def read(self, size):
        """Up to `size` bytes of the body (less only at its end); b"" once it has ended."""
        parts, wanted = [], size
        while wanted > 0 and not self.done:
            if not self.left:
                self._chunk_header()
                continue
            if self.pos == len(self.data):
                self._fill()
            n = min(self.left, wanted, len(self.data) - self.pos)
            parts.append(memoryview(self.data)[self.pos : self.pos + n])
            self.pos += n
            self.left -= n
            wanted -= n
            if not self.left:
                self._end_of_chunk()
        return b"".join(parts)  # the one copy of each byte

    def _fill(self):
        more = self.unreader.read()
        if not more:
            raise BlobUploadInvalid("chunked body ended early")
        self.data = self.data[self.pos :] + more if self.pos < len(self.data) else more
        self.pos = 0

    def _line(self):
        """The next line with its line end, at most MAX_LINE bytes."""
        while True:
            end = self.data.find(b"\n", self.pos, self.pos + MAX_LINE)
            if end >= 0:
                line = self.data[self.pos : end + 1]
                self.pos = end + 1
                return line
            if len(self.data) - self.pos >= MAX_LINE:
                raise BlobUploadInvalid("chunked body line too long")
            self._fill()

    def _chunk_header(self):
        self.left = self._next_size()
        if not self.left:
            self._ended()

    def _ended(self):
        self.done = True
        if self.pos < len(self.data):
            self.unreader.unread(self.data[self.pos :])  # the next request's first bytes
        self.data, self.pos = b"", 0
        self.req.must_close = not self.keep_alive


class ChunkedReader(_Chunks):
    """A file-like reader that decodes a chunked body from a raw stream, never reading past its end."""

    def __init__(self, raw):
        self.raw = raw
        self.remaining = 0
        self.done = False

    def _line(self):
        line = self.raw.readline(MAX_LINE)
        if not line:
            raise BlobUploadInvalid("chunked body ended early")
        return line

    def read(self, size=-1):
        out = []
        wanted = size if size is not None and size >= 0 else float("inf")
        while wanted > 0 and not self.done:
            if self.remaining == 0:
                self.remaining = self._next_size()
                self.done = not self.remaining
                continue
            data = self.raw.read(int(min(wanted, self.remaining, 1 << 20)))
            if not data:
                raise BlobUploadInvalid("chunked body ended early")
            self.remaining -= len(data)
            wanted -= len(data)
            out.append(data)
            if self.remaining == 0:
                self._end_of_chunk()
        return b"".join(out)

    def readline(self, size=-1):
        """Part of the WSGI input API: Django's WSGIRequest wraps wsgi.input and needs it."""
        out = bytearray()
        while (size is None or size < 0 or len(out) < size) and not out.endswith(b"\n"):
            byte = self.read(1)
            if not byte:
                break
            out += byte
        return bytes(out)

    def drain(self):
        while self.read(1 << 20):
            pass
