"""gunicorn's access log, with each atom computed only when the format asks for it.

gunicorn builds every atom for every request: ~20 values (a timestamp
formatted, the Authorization header decoded), one entry per request and
response header and per environ variable, then a quote-escaped copy of all of
it, to fill a format that uses six. On a 404 answer to a blob HEAD that was a
sixth of the request's CPU. Here the single-letter atoms are computed on
lookup, with gunicorn's escaping and its `-` for anything missing; a format
that names headers or environ variables (`%({x-foo}i)s`) takes gunicorn's own
path unchanged.
"""

import collections.abc
import os
import traceback

from gunicorn import glogging


class AccessLogger(glogging.Logger):
    def access(self, resp, req, environ, request_time):
        if "{" in self.cfg.access_log_format:
            return super().access(resp, req, environ, request_time)
        if not self._access_enabled():
            return
        try:
            self.access_log.info(self.cfg.access_log_format, LazyAtoms(self, resp, environ, request_time))
        except Exception:
            self.error(traceback.format_exc())

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
