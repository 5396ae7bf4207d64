"""Request bodies as a stream of blocks: Content-Length or Transfer-Encoding: chunked.

gunicorn de-chunks and marks the input `wsgi.input_terminated`; Berth's
runserver (registry_site/devserver.py) does the same with ChunkedReader. A
server that passes the raw chunked stream is decoded here. Never reads a body
whole: callers iterate blocks of at most a given size (under gunicorn, each as
one socket read brought it).
"""

from gunicorn.http.body import ChunkedReader as GunicornChunkedReader
from gunicorn.http.body import LengthReader

from images.api import chunked
from images.conf import registry_setting
from images.errors import BlobUploadInvalid, SizeInvalid


class ChunkedReader:
    """A file-like reader that decodes an HTTP/1.1 chunked body from a raw stream."""

    def __init__(self, raw):
        self.raw = raw
        self.remaining = 0
        self.done = False

    def _line(self):
        """The next line, which must end in CRLF (as under gunicorn: images/api/chunked.py)."""
        line = self.raw.readline(chunked.MAX_LINE)
        if not line.endswith(b"\r\n"):
            raise BlobUploadInvalid("malformed chunked body")
        return line

    def _next_chunk(self):
        size = chunked.chunk_size(self._line())
        if size == 0:
            for _ in range(chunked.MAX_TRAILER_LINES):
                if self._line() == b"\r\n":
                    break
            else:
                raise BlobUploadInvalid("too many trailer lines")
            self.done = True
        self.remaining = size

    def read(self, size=-1):
        out = []
        wanted = size if size is not None and size >= 0 else float("inf")
        while wanted > 0 and not self.done:
            if self.remaining == 0:
                self._next_chunk()
                continue
            data = self.raw.read(int(min(wanted, self.remaining, 1 << 20)))
            if not data:
                raise BlobUploadInvalid("chunked body ended early")
            self.remaining -= len(data)
            wanted -= len(data)
            out.append(data)
            if self.remaining == 0 and self.raw.readline(chunked.MAX_LINE) != b"\r\n":
                raise BlobUploadInvalid("malformed chunk terminator")
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


def is_chunked(meta):
    return "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()


def content_length(meta):
    raw = meta.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise SizeInvalid("invalid Content-Length") from None
    if value < 0:
        raise SizeInvalid("invalid Content-Length")
    return value


def has_body(request):
    length = content_length(request.META)
    return is_chunked(request.META) or bool(length)


class _GunicornBody:
    """gunicorn's wsgi.input re-buffers in 1 KiB steps; its inner reader takes large reads.

    Reading through `.reader` (after whatever `.buf` already holds) is several
    times faster for blobs; a chunked body is decoded by images/api/chunked.py
    instead of gunicorn's decoder. Falls back to the plain input on other servers.
    """

    def __init__(self, body):
        self.body = body

    @staticmethod
    def wraps(stream):
        return hasattr(stream, "reader") and hasattr(stream, "buf") and hasattr(stream.reader, "read")

    def read(self, size):
        if self.body.buf.tell():
            return self.body.read(size)
        reader = self.body.reader
        if isinstance(reader, LengthReader):
            return _read_counted(reader, size)
        if isinstance(reader, GunicornChunkedReader):
            body = _chunked_body(reader)
            if body is not None:
                return body.read(size)
        return reader.read(size)


def _chunked_body(reader):
    """The request's own chunked decoder (images/api/chunked.py), made on the first read."""
    body = getattr(reader, "berth_body", None)
    if body is None:
        body = reader.berth_body = chunked.take_over(reader)
    return body


def _read_counted(reader, size):
    """gunicorn's LengthReader.read, without its copies: what one socket read brought (at most `size`).

    LengthReader collects a whole `size` in a BytesIO and slices it out, three copies of every byte of
    a blob; callers here take blocks of any length."""
    size = min(reader.length, size)
    if size <= 0:
        return b""
    data = reader.unreader.read()  # what was read ahead, else one recv
    if len(data) > size:
        reader.unreader.unread(data[size:])  # past the body: the next request's bytes
        data = data[:size]
    reader.length -= len(data)
    return data


def _input(meta):
    stream = meta["wsgi.input"]
    return _GunicornBody(stream) if _GunicornBody.wraps(stream) else stream


BYTES_IN_KEY = "berth.bytes_in"  # bytes read so far, for the request metrics (images/middleware.py)


def iter_body(request, block_size=None):
    """Yield the request body in blocks of at most `block_size` bytes."""
    meta = request.META
    meta.setdefault(BYTES_IN_KEY, 0)
    for block in _iter_body(request, block_size):
        meta[BYTES_IN_KEY] += len(block)
        yield block


def _read(source, size):
    """One read of the body. gunicorn reports a broken or cut-off body with OSErrors
    (InvalidChunkSize, ChunkMissingTerminator, NoMoreData): the client's mistake, not a 500."""
    try:
        return source.read(size)
    except OSError:
        raise BlobUploadInvalid("malformed or incomplete request body") from None


def _iter_body(request, block_size=None):
    block_size = block_size or registry_setting("IO_BLOCK_SIZE")
    meta = request.META
    if is_chunked(meta):
        source = _input(meta)
        if not meta.get("wsgi.input_terminated"):
            source = ChunkedReader(source)
        while True:
            block = _read(source, block_size)
            if not block:
                return
            yield block
    length = content_length(meta) or 0
    source = _input(meta) if length else None
    while length > 0:
        block = _read(source, min(block_size, length))
        if not block:
            raise SizeInvalid("request body shorter than Content-Length")
        length -= len(block)
        yield block


def read_limited(request, limit, error):
    """Read a small body (a manifest) into memory, refusing more than `limit` bytes."""
    parts, total = [], 0
    for block in iter_body(request, block_size=min(limit + 1, 1 << 20)):
        total += len(block)
        if total > limit:
            raise error
        parts.append(block)
    return b"".join(parts)
