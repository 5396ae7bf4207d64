"""gunicorn's access log, with each atom computed only when the format asks for it.

gunicorn builds every atom for every request: ~20 values (a timestamp
formatted, the Authorization header decoded), one entry per request and
response header and per environ variable, then a quote-escaped copy of all of
it, to fill a format that uses six. On a 404 answer to a blob HEAD that was a
sixth of the request's CPU. Here the single-letter atoms are computed on
lookup, with gunicorn's escaping and its `-` for anything missing; a format
that names headers or environ variables (`%({x-foo}i)s`) takes gunicorn's own
path unchanged.

Lines are written in batches, as nginx's `access_log ... buffer= flush=` does: a logging record per
line, formatted and written and flushed on its own (one write() each, the GIL handed to another
thread and back), cost a manifest GET more CPU than its database query. A worker collects whole lines
and writes them at most PIPE_BUF bytes at a time (so lines of several workers sharing stdout never
interleave inside a line) and at least every BERTH_ACCESS_LOG_FLUSH seconds (default 1; 0 writes
every line at once), when a worker stops and before the log files are reopened (SIGUSR1). Only
gunicorn's own handler (`accesslog` set to `-` or a file) is batched; a logging configuration or
syslog gets every record as before.
"""

import atexit
import collections.abc
import logging
import os
import select
import threading
import time
import traceback

from gunicorn import glogging

from registry_site.periodic import Periodic

PIPE_BUF = getattr(select, "PIPE_BUF", 4096)  # a pipe write up to this size is never split


def flush_seconds():
    try:
        return max(float(os.environ.get("BERTH_ACCESS_LOG_FLUSH", "1")), 0.0)
    except ValueError:
        return 1.0


class AccessLogger(glogging.Logger):
    lines = None

    def setup(self, cfg):
        super().setup(cfg)
        handler = self._gunicorn_handler_only()
        self.lines = LineBatch(handler, flush_seconds()) if handler is not None else None

    def _gunicorn_handler_only(self):
        """gunicorn's own stream or file handler, when it is the access log's only one."""
        handlers = self.access_log.handlers
        if len(handlers) != 1 or not getattr(handlers[0], "_gunicorn", False):
            return None
        handler = handlers[0]
        return handler if isinstance(handler, logging.StreamHandler) else None

    def access(self, resp, req, environ, request_time):
        if "{" in self.cfg.access_log_format:
            return super().access(resp, req, environ, request_time)
        if not self._access_enabled():
            return
        try:
            atoms = LazyAtoms(self, resp, environ, request_time)
            if self._batching():
                self.lines.add(self.cfg.access_log_format % atoms)
            else:
                self.access_log.info(self.cfg.access_log_format, atoms)
        except Exception:
            self.error(traceback.format_exc())

    def _batching(self):
        """True while gunicorn's handler set up at `setup` is still the only one (not replaced since)."""
        handlers = self.access_log.handlers
        return self.lines is not None and len(handlers) == 1 and handlers[0] is self.lines.handler

    def flush_access(self):
        if self.lines is not None:
            self.lines.flush()

    def reopen_files(self):
        self.flush_access()
        super().reopen_files()

    def _access_enabled(self):  # gunicorn's own condition (Logger.access)
        cfg = self.cfg
        return bool(
            cfg.accesslog
            or cfg.logconfig
            or cfg.logconfig_dict
            or cfg.logconfig_json
            or (cfg.syslog and not cfg.disable_redirect_access_to_syslog)
        )


def _status(resp, environ, took, logger):
    status = resp.status
    return status.split(None, 1)[0] if isinstance(status, str) else status


def _sent(resp):
    return getattr(resp, "sent", None)


# gunicorn's atoms (its documentation's "access_log_format" table), each a function of
# (response, environ, request duration as a timedelta, logger).
_ATOMS = {
    "h": lambda resp, env, took, log: env.get("REMOTE_ADDR", "-"),
    "l": lambda resp, env, took, log: "-",
    "u": lambda resp, env, took, log: log._get_user(env) or "-",
    "t": lambda resp, env, took, log: log.now(),
    "r": lambda resp, env, took, log: f"{env['REQUEST_METHOD']} {env['RAW_URI']} {env['SERVER_PROTOCOL']}",
    "s": _status,
    "m": lambda resp, env, took, log: env.get("REQUEST_METHOD"),
    "U": lambda resp, env, took, log: env.get("PATH_INFO"),
    "q": lambda resp, env, took, log: env.get("QUERY_STRING"),
    "H": lambda resp, env, took, log: env.get("SERVER_PROTOCOL"),
    "b": lambda resp, env, took, log: "-" if _sent(resp) is None else str(_sent(resp)),
    "B": lambda resp, env, took, log: _sent(resp),
    "f": lambda resp, env, took, log: env.get("HTTP_REFERER", "-"),
    "a": lambda resp, env, took, log: env.get("HTTP_USER_AGENT", "-"),
    "T": lambda resp, env, took, log: took.seconds,
    "D": lambda resp, env, took, log: took.seconds * 1_000_000 + took.microseconds,
    "M": lambda resp, env, took, log: took.seconds * 1000 + took.microseconds // 1000,
    "L": lambda resp, env, took, log: f"{took.seconds}.{took.microseconds:06d}",
    "p": lambda resp, env, took, log: f"<{os.getpid()}>",
}


class LazyAtoms(collections.abc.Mapping):
    """The atoms as a mapping that computes each on lookup (and escapes quotes, as SafeAtoms does)."""

    def __init__(self, logger, resp, environ, request_time):
        self._args = (resp, environ, request_time, logger)

    def __getitem__(self, key):
        atom = _ATOMS.get(key)
        value = atom(*self._args) if atom else "-"
        return value.replace('"', '\\"') if isinstance(value, str) else value

    def __iter__(self):
        return iter(_ATOMS)

    def __len__(self):
        return len(_ATOMS)


class LineBatch:
    """Access log lines of one process, written to a logging.StreamHandler's stream in batches."""

    def __init__(self, handler, seconds):
        self.handler, self.seconds = handler, seconds
        self.lock = threading.Lock()
        self.pending, self.size, self.since = [], 0, 0.0
        self.flusher = Periodic(seconds / 2, self._flush_if_due, "access-log-flush")
        atexit.register(self.flush)

    def add(self, line):
        line += "\n"
        with self.lock:
            if self.size + len(line) > PIPE_BUF:
                self._write_locked()
            if not self.pending:
                self.since = time.monotonic()
            self.pending.append(line)
            self.size += len(line)
            if self.seconds == 0 or self.size >= PIPE_BUF:
                self._write_locked()
        if self.seconds:
            self.flusher.ensure_running()

    def flush(self):
        with self.lock:
            self._write_locked()

    def _write_locked(self):
        if not self.pending:
            return
        # One record for the batch, through the handler's own emit(): it writes the text and its last
        # newline in one write() and, for a file, opens it again if it was closed. Django's logging
        # set-up (dictConfig) closes every handler that exists, gunicorn's too, when the app is loaded.
        record = logging.makeLogRecord({"msg": "".join(self.pending)[:-1]})
        self.pending, self.size = [], 0
        handler = self.handler
        handler.acquire()  # the lock gunicorn's reopen_files takes
        try:
            handler.emit(record)  # reports its own errors (handleError)
        finally:
            handler.release()

    def _flush_if_due(self):
        with self.lock:
            if self.pending and time.monotonic() - self.since >= self.seconds:
                self._write_locked()
