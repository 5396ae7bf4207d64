"""Start writing a file's new bytes to disk while an upload is still arriving.

A blob is fsynced before its PUT answers 201. Left to the kernel, all of an
upload's bytes are still only in memory at that point, so the fsync writes all
of them while the client waits (a 23 MiB layer: 25-40 ms here). Asking Linux
to start writing each few MiB as they land (`sync_file_range` with
SYNC_FILE_RANGE_WRITE: it starts the writes and returns, it promises nothing)
overlaps that with the transfer; the fsync then only waits for the tail. Other
systems, or a libc without the call, skip it: the fsync still makes the blob
durable either way.
"""

import ctypes
import ctypes.util

EVERY = 8 * 1024 * 1024  # bytes written between two requests to start writing
_SYNC_FILE_RANGE_WRITE = 2


def _sync_file_range():
    try:
        call = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    call.restype = ctypes.c_int
    return call


_CALL = _sync_file_range()


def start(fd, offset, length):
    """Ask the kernel to start writing [offset, offset + length) of `fd` to disk; never fails."""
    if _CALL is not None and length > 0:
        _CALL(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


class Writer:
    """Wraps an open file: after every EVERY bytes written, flushes and starts their writeback."""

    def __init__(self, fh, offset):
        self.fh, self.started, self.position = fh, offset, offset

    def write(self, block):
        self.fh.write(block)
        self.position += len(block)
        if self.position - self.started >= EVERY:
            self.fh.flush()
            start(self.fh.fileno(), self.started, self.position - self.started)
            self.started = self.position
