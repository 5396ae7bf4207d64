"""storage_backends/writeback.py: an upload's bytes start for the disk while it still arrives."""

import os

from storage_backends import writeback


def test_written_bytes_reach_the_file_before_their_writeback_is_started(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(b"x" * 100)
    data = os.urandom(2 * writeback.EVERY + 12345)
    with open(path, "r+b", buffering=4 * writeback.EVERY) as fh:  # a buffer that would hold it all back
        fh.seek(100)
        out = writeback.Writer(fh, 100)
        out.write(data[: writeback.EVERY])
        with open(path, "rb") as other:  # what the kernel has for the file, i.e. what it can write back
            assert other.read() == b"x" * 100 + data[: writeback.EVERY]
        for at in range(writeback.EVERY, len(data), 1 << 20):
            out.write(data[at : at + (1 << 20)])
        assert out.started == 100 + 2 * writeback.EVERY
    assert path.read_bytes() == b"x" * 100 + data


def test_starting_writeback_is_harmless_on_any_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    with open(path, "rb") as fh:
        writeback.start(fh.fileno(), 0, 3)  # read-only, a range past the end: only advice, never an error
        writeback.start(fh.fileno(), 10, 1 << 30)
    writeback.start(-1, 0, 1)
    assert path.read_bytes() == b"abc"
