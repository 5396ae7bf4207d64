"""Authentication against an upstream registry: Basic, or Bearer tokens from the challenge's realm.

The first request goes out anonymous (or with what an earlier answer taught us); a 401 is answered
once with the scheme its challenge asks for. Tokens are cached per (realm, service, scopes) until
`expires_in` (default 60 s) minus a margin. Neither passwords nor tokens are ever logged.
"""

import base64
import logging
import threading
import time

import requests

from remote import challenge as challenges
from remote.errors import RemoteError, RemoteUnauthorized, RemoteUnavailable, from_response

log = logging.getLogger("berth.remote")
DEFAULT_EXPIRES_IN = 60
MARGIN = 10  # seconds before expiry a cached token is no longer used


class TokenCache:
    """Bearer tokens by (realm, service, scopes), thread-safe, with expiry."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._tokens = {}
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._tokens.get(key)
            if entry is None:
                return None
            token, expires = entry
            if self._clock() >= expires:
                del self._tokens[key]
                return None
            return token

    def put(self, key, token, expires_in):
        lifetime = expires_in if isinstance(expires_in, int | float) and expires_in > 0 else DEFAULT_EXPIRES_IN
        with self._lock:
            self._tokens[key] = (token, self._clock() + max(lifetime - min(MARGIN, lifetime / 2), 1))

    def drop(self, key, token):
        with self._lock:
            if self._tokens.get(key, (None,))[0] == token:
                del self._tokens[key]


class Authenticator:
    """The Authorization header for a request with given scopes, learned from the upstream's challenges."""

    def __init__(self, session, upstream, username=None, password=None, timeout=None):
        self.session = session
        self.upstream = upstream
        self.credentials = (username, password) if username is not None else None
        self.timeout = timeout
        self.tokens = TokenCache()
        self._scheme = None  # the challenge that answered last: Basic, or Bearer (realm, service)
        self._lock = threading.Lock()
        self._fetching = {}  # (realm, service, scopes) -> Lock

    def _basic(self):
        user, password = self.credentials
        raw = f"{user}:{password or ''}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}

    def headers(self, scopes):
        """Headers to send before any challenge (what the last challenge taught us), maybe {}."""
        known = self._scheme
        if known is None:
            return {}
        if known.scheme == "basic":
            return self._basic() if self.credentials else {}
        return {"Authorization": f"Bearer {self._token(known, scopes)}"}

    def answer(self, response, scopes, sent):
        """Headers that answer the 401 `response` (its challenge), or RemoteUnauthorized."""
        found = challenges.pick(challenges.parse(_challenge_headers(response)))
        if found is None:
            raise RemoteUnauthorized(
                f"{response.request.method} {_path(response)} answered 401 without a usable challenge",
                self.upstream,
                status=401,
            )
        with self._lock:
            self._scheme = found
        if found.scheme == "basic":
            if not self.credentials or sent.get("Authorization", "").startswith("Basic "):
                raise RemoteUnauthorized(self._refused(response, "Basic"), self.upstream, status=401)
            return self._basic()
        if found.realm is None:
            raise RemoteUnauthorized("Bearer challenge without a realm", self.upstream, status=401)
        stale = sent.get("Authorization", "")
        refused = stale[len("Bearer ") :] if stale.startswith("Bearer ") else None  # never used again
        return {"Authorization": f"Bearer {self._token(found, scopes, refused)}"}

    def _token(self, found, scopes, refused=None):
        """The cached token for these scopes, else one fetched; one fetch at a time per key (threads
        asking at once wait for it instead of each fetching their own)."""
        key = self._key(found, scopes)
        with self._lock:
            lock = self._fetching.setdefault(key, threading.Lock())
        with lock:
            if refused is not None:
                self.tokens.drop(key, refused)
            token = self.tokens.get(key)
            return token if token is not None else self._fetch_token(found, scopes)

    def _refused(self, response, how):
        who = f"as {self.credentials[0]}" if self.credentials else "anonymously"
        return f"{response.request.method} {_path(response)} refused {how} {who} (401)"

    @staticmethod
    def _key(found, scopes):
        return (found.realm, found.service, tuple(scopes))

    def _fetch_token(self, found, scopes):
        key = self._key(found, scopes)
        params = [("scope", scope) for scope in scopes]
        if found.service:
            params.insert(0, ("service", found.service))
        if self.credentials:
            params.append(("account", self.credentials[0]))
        try:
            response = self.session.get(found.realm, params=params, auth=self.credentials, timeout=self.timeout)
        except requests.RequestException as exc:
            raise RemoteUnavailable(
                f"token service {found.realm} unreachable: {type(exc).__name__}", self.upstream
            ) from None
        if response.status_code != 200:
            error = from_response(
                response.status_code, response.headers, response.content, self.upstream, f"token service {found.realm}"
            )
            if response.status_code in (400, 401, 403):
                raise RemoteUnauthorized(error.message, self.upstream, status=response.status_code)
            raise error
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token, body = None, {}
        if not token or not isinstance(token, str):
            raise RemoteError(f"token service {found.realm} answered without a token", self.upstream)
        self.tokens.put(key, token, body.get("expires_in"))
        log.debug("token for %s from %s (expires_in=%s)", " ".join(scopes), found.realm, body.get("expires_in"))
        return token


def _challenge_headers(response):
    raw = getattr(response.raw, "headers", None)
    if raw is not None and hasattr(raw, "getlist"):
        return raw.getlist("WWW-Authenticate")
    value = response.headers.get("WWW-Authenticate")
    return [value] if value else []


def _path(response):
    return requests.utils.urlparse(response.request.url).path
