"""BlockReader: the read()-able view the object-store SDKs consume a request body through."""

import os

import pytest

from storage_backends.adapters.base import BlockReader


@pytest.mark.parametrize("read_size", [1, 4096, 100_000, 5 << 20])
def test_reads_return_the_blocks_bytes_in_order_and_exactly_the_size_asked(read_size):
    blocks = [os.urandom(n) for n in (0, 7, 65536, 100_003, 1, 250_000)]
    reader = BlockReader(iter(blocks))
    parts = []
    while part := reader.read(read_size):
        assert len(part) == read_size or reader.read(1) == b""  # only the last read is short
        parts.append(part)
    assert b"".join(parts) == b"".join(blocks)
    assert reader.tell() == sum(map(len, blocks))


def test_read_all_after_a_partial_read():
    reader = BlockReader(iter([b"abc", b"defg", b"hi"]))
    assert reader.read(4) == b"abcd"
    assert reader.read() == b"efghi"
    assert reader.read(10) == b""
