"""HTTP/1.1 chunked request bodies: one decoder (ChunkedBody: chunk-size lines, data, terminators,
trailers) over two sources of bytes.

- take_over(reader): under gunicorn, straight from the connection's buffered socket reader.
- from_stream(raw): from any file-like raw stream (runserver, registry_site/server/devserver.py, and a
  WSGI server that passes a chunked body through undecoded).

Under gunicorn:

docker and podman stream every blob upload as `Transfer-Encoding: chunked`,
in chunks of 32 KiB (skopeo sends a Content-Length). gunicorn's own decoder (27 as 23) re-slices the
rest of each socket read at every chunk boundary and wsgi.input collects its output in a BytesIO
(gunicorn 23: about 1 ms of CPU per MiB here, on the path of every push). This decoder keeps
one position in the current read, and copies each byte once. A body cut off before its last chunk's
trailers is an error here (BLOB_UPLOAD_INVALID), never a clean end: gunicorn 23's decoder took a
connection closed there for the end of the body; 27's raises ChunkMissingTerminator, which bodies.py
reports the same way.

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


def take_over(reader):
    """A ChunkedBody for gunicorn's ChunkedReader if it has not started, else None."""
    parser = getattr(reader, "parser", None)
    req = getattr(reader, "req", None)
    if not inspect.isgenerator(parser) or inspect.getgeneratorstate(parser) != inspect.GEN_CREATED:
        return None
    if reader.buf.tell() or not hasattr(getattr(req, "unreader", None), "unread"):
        return None
    reader.parser.close()
    reader.parser = None  # gunicorn's ChunkedReader now reads as an empty body
    unreader, keep_alive = req.unreader, not req.must_close
    req.must_close = True  # until the whole body has been read

    def ended(rest):
        if rest:
            unreader.unread(rest)  # the next request's first bytes
        req.must_close = not keep_alive

    return ChunkedBody(lambda line, size: unreader.read(), ended)


def from_stream(raw):
    """A ChunkedBody over a file-like raw stream, never reading past the body's end (a line at most
    MAX_LINE bytes at a time, data at most what the current chunk holds)."""

    def more(line, size):
        return raw.readline(MAX_LINE) if line else raw.read(min(size, 1 << 20))

    return ChunkedBody(more)


class ChunkedBody:
    """The decoder: the chunked grammar over `more(line, size)`, which returns the next bytes of the stream
    (b"" at its end; `line`: a line is wanted, else at most `size` bytes of data are). `ended(rest)` is
    called after the trailers with what was read past them."""

    def __init__(self, more, ended=None):
        self._more, self._ended = more, ended
        self.data, self.pos = b"", 0
        self.left = 0  # bytes of the current chunk still to return
        self.done = False

    def read(self, size=-1):
        """Up to `size` bytes of the body (all with -1; less only at its end); b"" once it has ended."""
        parts, wanted = [], size if size is not None and size >= 0 else float("inf")
        while wanted > 0 and not self.done:
            if not self.left:
                self._chunk_header()
                continue
            if self.pos == len(self.data):
                self._fill(line=False, size=int(min(self.left, wanted)))
            n = int(min(self.left, wanted, len(self.data) - self.pos))
            parts.append(memoryview(self.data)[self.pos : self.pos + n])
            self.pos += n
            self.left -= n
            wanted -= n
            if not self.left:
                self._end_of_chunk()
        return b"".join(parts)  # the one copy of each byte

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

    def _fill(self, line, size=MAX_LINE):
        more = self._more(line, size)
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
            self._fill(line=True)

    def _chunk_header(self):
        """The next chunk's size; after the last (0), the trailers are read up to the empty line."""
        line = self._line()
        if not line.endswith(b"\r\n"):
            raise BlobUploadInvalid("malformed chunk size")
        self.left = chunk_size(line)
        if self.left:
            return
        for _ in range(MAX_TRAILER_LINES):
            if self._line() == b"\r\n":
                break
        else:
            raise BlobUploadInvalid("too many trailer lines")
        self.done = True
        if self._ended is not None:
            self._ended(self.data[self.pos :])
        self.data, self.pos = b"", 0

    def _end_of_chunk(self):
        if self._line() != b"\r\n":
            raise BlobUploadInvalid("malformed chunk terminator")
