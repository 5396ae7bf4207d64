"""Request bodies as blocks, whatever server runs Berth: `blocks(meta, block_size)` is the one entry point
(images/api/streams.py counts and limits what it yields; the views call that).

- gunicorn (registry_site/server/workers.py): its wsgi.input re-buffers in 1 KiB steps; its inner
  reader takes large reads. A Content-Length body is read straight from the connection's buffered
  socket reader (one copy per byte, `_read_counted`); a chunked one is decoded by chunked.ChunkedBody (take_over)
  instead of gunicorn's decoder. Both rely on gunicorn internals (pinned: requirements.txt);
  tests/unit/test_gunicorn_assumptions.py fails when an upgrade changes one of them.
- runserver (registry_site/server/devserver.py) de-chunks with chunked.from_stream and marks the
  input `wsgi.input_terminated`, as gunicorn does.
- any other server: a chunked body it passes through raw is decoded here with the same decoder (from_stream).

Never reads a body whole: blocks of at most `block_size` bytes (under gunicorn, each as one socket read
brought it).
"""

from gunicorn.http.body import ChunkedReader as GunicornChunkedReader
from gunicorn.http.body import LengthReader
from gunicorn.http.errors import ParseException

from images.errors import BlobUploadInvalid, SizeInvalid
from registry_site.server import chunked


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


def blocks(meta, block_size):
    """Yield the request body of WSGI environ `meta` in blocks of at most `block_size` bytes."""
    if is_chunked(meta):
        source = _input(meta)
        if not meta.get("wsgi.input_terminated"):
            source = chunked.from_stream(source)
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


def _read(source, size):
    """One read of the body. gunicorn reports a broken or cut-off body with NoMoreData (an OSError) or,
    since gunicorn 24, ParseExceptions (InvalidChunkSize, ChunkMissingTerminator, InvalidChunkExtension):
    the client's mistake, not a 500."""
    try:
        return source.read(size)
    except (OSError, ParseException):
        raise BlobUploadInvalid("malformed or incomplete request body") from None


class _GunicornBody:
    """gunicorn's wsgi.input, read through its inner reader (after whatever `.buf` already holds).

    Several times faster for blobs than the input's own read; falls back to the plain input on other
    servers.
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
    """The request's own chunked decoder (chunked.ChunkedBody), made on the first read."""
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
