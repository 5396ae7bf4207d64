"""registry_site.server.chunked.from_stream: decoding HTTP/1.1 chunked bodies from a raw stream."""

import io

import pytest

from images.api.streams import content_length, is_chunked
from images.errors import BlobUploadInvalid, SizeInvalid
from registry_site.server.chunked import from_stream


def encode_chunked(*chunks, extensions="", trailers=b""):
    out = b""
    for chunk in chunks:
        out += f"{len(chunk):x}{extensions}\r\n".encode() + chunk + b"\r\n"
    return out + f"0{extensions}\r\n".encode() + trailers + b"\r\n"


def read_all(raw, block=1 << 20):
    reader = from_stream(io.BytesIO(raw))
    out = []
    while True:
        data = reader.read(block)
        if not data:
            return b"".join(out)
        out.append(data)


class TrickleStream(io.RawIOBase):
    """A socket-like stream that returns at most a few bytes per read()."""

    def __init__(self, data, step=3):
        self._buf = io.BufferedReader(io.BytesIO(data))
        self.step = step

    def readline(self, size=-1):
        return self._buf.readline(size)

    def read(self, size=-1):
        return self._buf.read(min(size, self.step) if size >= 0 else self.step)


def test_well_formed_body():
    assert read_all(encode_chunked(b"hello ", b"chunked ", b"world")) == b"hello chunked world"


def test_empty_body():
    assert read_all(b"0\r\n\r\n") == b""


def test_reads_in_requested_block_sizes_across_chunk_boundaries():
    reader = from_stream(io.BytesIO(encode_chunked(b"abc", b"defgh", b"ij")))
    assert reader.read(4) == b"abcd"
    assert reader.read(2) == b"ef"
    assert reader.read(100) == b"ghij"
    assert reader.read(100) == b""
    assert reader.done


def test_read_without_size_reads_everything():
    assert from_stream(io.BytesIO(encode_chunked(b"a" * 5000, b"b" * 3))).read() == b"a" * 5000 + b"bbb"


def test_large_chunks_and_short_reads_from_the_socket():
    payload = bytes(range(256)) * 5000
    raw = encode_chunked(payload[:700_000], payload[700_000:])
    reader = from_stream(TrickleStream(raw, step=4099))
    out = b""
    while block := reader.read(65536):
        out += block
    assert out == payload


def test_hex_sizes_in_either_case():
    raw = b"A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n"
    assert read_all(raw) == b"0123456789abcdefghijk"


def test_chunk_extensions_are_ignored():
    raw = encode_chunked(b"hello", b"world", extensions=';name=value;flag;quoted="a;b"')
    assert read_all(raw) == b"helloworld"


def test_trailers_are_consumed():
    raw = encode_chunked(b"data", trailers=b"Docker-Content-Digest: sha256:abc\r\nX-Other: 1\r\n")
    stream = io.BytesIO(raw + b"NEXT REQUEST")
    reader = from_stream(stream)
    assert reader.read(100) == b"data"
    assert reader.read(100) == b""
    assert stream.read() == b"NEXT REQUEST"


@pytest.mark.parametrize(
    "raw",
    [b"5\nhello\r\n0\r\n\r\n", b"5\r\nhello\n0\r\n\r\n", b"5\r\nhello\r\n0\n\r\n", b"5\r\nhello\r\n0\r\n\n"],
    ids=["size-line", "chunk-end", "last-chunk", "end-of-trailers"],
)
def test_a_bare_lf_is_refused_as_under_gunicorn(raw):
    """A lone LF where CRLF belongs: refused, not read two ways (a proxy in front may not agree)."""
    with pytest.raises(BlobUploadInvalid):
        read_all(raw)


def test_endless_trailers_are_refused():
    with pytest.raises(BlobUploadInvalid, match="trailer"):
        read_all(b"0\r\n" + b"X-Pad: 1\r\n" * 100 + b"\r\n")


def test_a_body_that_ends_inside_its_trailers_is_refused():
    with pytest.raises(BlobUploadInvalid):
        read_all(b"4\r\ndata\r\n0\r\nX-Trailer: 1\r\n")


def test_stops_at_the_terminating_chunk_and_leaves_the_rest():
    stream = io.BytesIO(encode_chunked(b"body") + b"GET / HTTP/1.1\r\n")
    reader = from_stream(stream)
    reader.drain()
    assert stream.read() == b"GET / HTTP/1.1\r\n"


def test_drain_consumes_an_unread_body():
    stream = io.BytesIO(encode_chunked(b"x" * 3_000_000) + b"rest")
    from_stream(stream).drain()
    assert stream.read() == b"rest"


def test_read_zero_returns_nothing():
    reader = from_stream(io.BytesIO(encode_chunked(b"abc")))
    assert reader.read(0) == b""
    assert reader.read(10) == b"abc"


@pytest.mark.parametrize(
    "raw",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"\r\nhello\r\n0\r\n\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"5 5\r\nhello\r\n0\r\n\r\n",
        b"0x\r\n\r\n",
        b";ext\r\nhello\r\n0\r\n\r\n",
        b"\xff\r\nhello\r\n0\r\n\r\n",
        b"1" * 2000 + b"\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"+5\r\nhello\r\n0\r\n\r\n",
        b"1_0\r\n0123456789abcdef\r\n0\r\n\r\n",
        b"1" * 40 + b"\r\n",
    ],
    ids=[
        "not-hex",
        "empty-size",
        "negative",
        "two-numbers",
        "bad-prefix",
        "only-extension",
        "binary",
        "overlong-line",
        "0x-prefix",
        "plus-sign",
        "underscore",
        "absurdly-large",
    ],
)
def test_malformed_sizes(raw):
    with pytest.raises(BlobUploadInvalid) as excinfo:
        read_all(raw)
    assert excinfo.value.code == "BLOB_UPLOAD_INVALID"
    assert excinfo.value.status == 400


@pytest.mark.parametrize(
    "raw",
    [
        b"5\r\nhelloX\r\n0\r\n\r\n",
        b"5\r\nhello world\r\n0\r\n\r\n",
        b"5\r\nhel\r\n0\r\n\r\n",
    ],
    ids=["junk-after-data", "chunk-longer-than-size", "chunk-shorter-than-size"],
)
def test_size_disagreeing_with_data(raw):
    with pytest.raises(BlobUploadInvalid):
        read_all(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"5",
        b"5\r\n",
        b"5\r\nhel",
        b"5\r\nhello",
        b"5\r\nhello\r\n",
        b"5\r\nhello\r\n0",
        b"ffffffff\r\nonly a little",
    ],
    ids=[
        "nothing",
        "size-without-eol",
        "no-data",
        "partial-data",
        "no-terminator",
        "no-last-chunk",
        "last-chunk-without-eol",
        "huge-size",
    ],
)
def test_truncated_bodies(raw):
    with pytest.raises(BlobUploadInvalid):
        read_all(raw)


def test_truncated_body_keeps_what_was_decoded_so_far():
    reader = from_stream(io.BytesIO(b"5\r\nhello\r\n5\r\nwor"))
    assert reader.read(5) == b"hello"
    with pytest.raises(BlobUploadInvalid, match="ended early"):
        reader.read(5)


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"HTTP_TRANSFER_ENCODING": "chunked"}, True),
        ({"HTTP_TRANSFER_ENCODING": "Chunked"}, True),
        ({"HTTP_TRANSFER_ENCODING": "gzip, chunked"}, True),
        ({"HTTP_TRANSFER_ENCODING": "identity"}, False),
        ({}, False),
    ],
)
def test_is_chunked(meta, expected):
    assert is_chunked(meta) is expected


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), ("0", 0), ("12345", 12345)])
def test_content_length(raw, expected):
    assert content_length({} if raw is None else {"CONTENT_LENGTH": raw}) == expected


@pytest.mark.parametrize("raw", ["-1", "abc", "1.5", "0x10"])
def test_invalid_content_length(raw):
    with pytest.raises(SizeInvalid):
        content_length({"CONTENT_LENGTH": raw})
