"""Errors of the remote-registry client. Each names the upstream it came from.

    RemoteError(message, upstream)          base; str() is "<upstream>: <message>"
      RemoteUnavailable                      connection refused/reset/timeout, 5xx after retries, truncated body
      RemoteNotFound                         404; `code` keeps the registry's error code (MANIFEST_UNKNOWN, ...)
      RemoteUnauthorized                     401/403 after authenticating (bad credentials, access denied)
      RemoteTooManyRequests(retry_after)     429, with the upstream's Retry-After in seconds (or None)
      RemoteInvalid                          a garbage answer (bad JSON, oversized manifest, wrong type)
        DigestMismatch                       the bytes do not hash to the digest they were asked by
      RemoteRejected                         any other 4xx: the upstream refused the request (e.g. a push)

`from_response` turns a finished HTTP answer into one of these (pure: status, headers, body bytes).
"""

import email.utils
import json
import time


class RemoteError(Exception):
    def __init__(self, message, upstream, *, status=None, code=None):
        super().__init__(message)
        self.message = message
        self.upstream = upstream
        self.status = status
        self.code = code

    def __str__(self):
        return f"{self.upstream}: {self.message}"


class RemoteUnavailable(RemoteError):
    pass


class RemoteNotFound(RemoteError):
    pass


class RemoteUnauthorized(RemoteError):
    pass


class RemoteTooManyRequests(RemoteError):
    def __init__(self, message, upstream, *, retry_after=None, status=429, code=None):
        super().__init__(message, upstream, status=status, code=code)
        self.retry_after = retry_after


class RemoteInvalid(RemoteError):
    pass


class DigestMismatch(RemoteInvalid):
    pass


class RemoteRejected(RemoteError):
    pass


def retry_after_seconds(value, now=None):
    """Retry-After as whole seconds (delta-seconds or an HTTP date), or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0, round(when.timestamp() - (time.time() if now is None else now)))


def registry_error(body: bytes):
    """(code, message) of the first entry of a distribution error body, or (None, None)."""
    try:
        errors = json.loads(body.decode("utf-8")).get("errors")
        first = errors[0]
        return str(first.get("code") or "") or None, str(first.get("message") or "") or None
    except (ValueError, AttributeError, TypeError, IndexError, KeyError, UnicodeDecodeError):
        return None, None


def from_response(status, headers, body: bytes, upstream, what):
    """The RemoteError for an unsuccessful answer `status` to `what` (e.g. "GET manifest library/alpine:3")."""
    code, detail = registry_error(body or b"")
    message = f"{what} answered {status}"
    if code or detail:
        message += f" {code or ''}{': ' if code and detail else ''}{(detail or '')[:200]}"
    kwargs = {"status": status, "code": code}
    if status in (401, 403):
        return RemoteUnauthorized(message, upstream, **kwargs)
    if status == 404:
        return RemoteNotFound(message, upstream, **kwargs)
    if status == 429:
        return RemoteTooManyRequests(
            message, upstream, retry_after=retry_after_seconds(headers.get("Retry-After")), code=code
        )
    if status >= 500:
        return RemoteUnavailable(message, upstream, **kwargs)
    if 400 <= status < 500:
        return RemoteRejected(message, upstream, **kwargs)
    return RemoteInvalid(f"{what}: unexpected answer {status}", upstream, **kwargs)
