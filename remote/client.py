"""RemoteRegistry: one upstream registry (Docker Registry HTTP API v2 / OCI distribution) over HTTP.

One requests.Session (pooled connections) per instance; safe to share between threads. See
remote_api in the package docstring for the interface.
"""

import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter

from remote import errors
from remote.auth import Authenticator
from remote.blobs import STREAM_ERRORS, RemoteBlob, hasher_for

log = logging.getLogger("berth.remote")

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPES = (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RemoteManifest:
    payload: bytes
    media_type: str
    digest: str


@dataclass(frozen=True)
class ManifestHead:
    digest: str | None
    media_type: str
    size: int | None


def normalise_url(base_url):
    base = base_url.strip().rstrip("/")
    if "://" not in base:
        base = "https://" + base
    if base.endswith("/v2"):
        base = base[: -len("/v2")]
    return base


def is_digest(reference):
    return ":" in reference


def backoff(attempt, base=0.25, cap=8.0, rand=random.random):
    """Seconds to wait before retry number `attempt` (0-based): exponential with full jitter."""
    return min(cap, base * (2**attempt)) * (0.5 + rand() / 2)


class RemoteRegistry:
    def __init__(
        self,
        base_url,
        username=None,
        password=None,
        verify_tls=True,
        timeout=(10, 60),
        retries=3,
        max_retry_after=30,
        pool_size=16,
    ):
        self.url = normalise_url(base_url)
        self.timeout = timeout
        self.retries = retries
        self.max_retry_after = max_retry_after
        self.session = requests.Session()
        self.session.verify = verify_tls
        self.session.headers["User-Agent"] = "berth-remote/1"
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.auth = Authenticator(self.session, self.url, username, password, timeout)

    def __repr__(self):
        return f"RemoteRegistry({self.url!r})"

    def close(self):
        self.session.close()

    # ------------------------------------------------------------------ transport

    def _request(self, method, path, scopes, what, *, headers=None, retry=True, data=None, ok=(200,), **kwargs):
        """Send with auth and retries; a response whose status is in `ok` (unread if stream=True), else raise."""
        url = path if "://" in path else self.url + path
        kwargs.setdefault("stream", True)  # bodies are read by the caller, error bodies by _small_body
        attempts = self.retries + 1 if retry else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._authenticated(method, url, scopes, what, headers or {}, data, kwargs)
            except STREAM_ERRORS as exc:
                if last:
                    raise errors.RemoteUnavailable(f"{what}: {_reason(exc)}", self.url) from None
                self._wait(attempt, None, what, _reason(exc))
                continue
            if response.status_code in ok:
                return response
            body = _small_body(response)
            error = errors.from_response(response.status_code, response.headers, body, self.url, what)
            if last or response.status_code not in RETRY_STATUSES:
                raise error
            retry_after = getattr(error, "retry_after", None)
            if retry_after is not None and retry_after > self.max_retry_after:
                raise error
            self._wait(attempt, retry_after, what, str(response.status_code))
        raise AssertionError("unreachable")

    def _authenticated(self, method, url, scopes, what, headers, data, kwargs):
        sent = {**headers, **self.auth.headers(scopes)}
        response = self.session.request(method, url, headers=sent, data=data, timeout=self.timeout, **kwargs)
        if response.status_code != 401:
            return response
        _small_body(response)
        if data is not None and not isinstance(data, bytes | str):
            raise errors.RemoteUnauthorized(f"{what} answered 401 in the middle of an upload", self.url, status=401)
        sent = {**headers, **self.auth.answer(response, scopes, sent)}
        response = self.session.request(method, url, headers=sent, data=data, timeout=self.timeout, **kwargs)
        if response.status_code == 401:
            _small_body(response)
            who = f"as {self.auth.credentials[0]}" if self.auth.credentials else "anonymously"
            raise errors.RemoteUnauthorized(f"{what} refused {who} (401)", self.url, status=401)
        return response

    def _wait(self, attempt, retry_after, what, reason):
        delay = retry_after if retry_after is not None else backoff(attempt)
        log.warning("upstream %s: %s failed (%s), retry %d in %.2f s", self.url, what, reason, attempt + 1, delay)
        time.sleep(delay)

    # ------------------------------------------------------------------ read side

    def ping(self):
        """GET /v2/ with authentication: raises errors.* when the upstream cannot be used."""
        self._request("GET", "/v2/", (), "GET /v2/").close()
        return True

    def get_manifest(self, repo, reference, accept=MANIFEST_MEDIA_TYPES):
        what = f"GET manifest {repo}{'@' if is_digest(reference) else ':'}{reference}"
        response = self._request(
            "GET", f"/v2/{repo}/manifests/{reference}", _pull(repo), what, headers=_accept(accept), stream=True
        )
        with response:
            payload = self._read_capped(response, what)
        media_type = _content_type(response) or _declared_type(payload)
        if not media_type:
            raise errors.RemoteInvalid(f"{what}: no media type in the answer nor the payload", self.url)
        expected = reference if is_digest(reference) else response.headers.get("Docker-Content-Digest")
        digest = self._check_digest(payload, expected, what, strict=is_digest(reference))
        return RemoteManifest(payload, media_type, digest)

    def _read_capped(self, response, what):
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > MAX_MANIFEST_BYTES:
            raise errors.RemoteInvalid(f"{what}: manifest of {length} bytes exceeds {MAX_MANIFEST_BYTES}", self.url)
        try:
            payload = response.raw.read(MAX_MANIFEST_BYTES + 1, decode_content=True)
        except STREAM_ERRORS as exc:
            raise errors.RemoteUnavailable(f"{what}: {_reason(exc)}", self.url) from None
        if len(payload) > MAX_MANIFEST_BYTES:
            raise errors.RemoteInvalid(f"{what}: manifest exceeds {MAX_MANIFEST_BYTES} bytes", self.url)
        if length and length.isdigit() and len(payload) != int(length):
            raise errors.RemoteUnavailable(f"{what}: truncated at {len(payload)} of {length} bytes", self.url)
        return payload

    def _check_digest(self, payload, expected, what, strict):
        """The payload's digest (in `expected`'s algorithm when known); DigestMismatch when it differs."""
        algorithm = expected.split(":", 1)[0] if expected and ":" in expected else "sha256"
        if algorithm not in ("sha256", "sha512"):
            if strict:
                raise errors.DigestMismatch(f"{what}: unsupported digest {expected}", self.url)
            algorithm, expected = "sha256", None
        actual = f"{algorithm}:{hashlib.new(algorithm, payload).hexdigest()}"
        if expected and actual != expected:
            raise errors.DigestMismatch(f"{what}: the payload hashes to {actual}, not {expected}", self.url)
        return actual

    def head_manifest(self, repo, reference, accept=MANIFEST_MEDIA_TYPES):
        what = f"HEAD manifest {repo}{'@' if is_digest(reference) else ':'}{reference}"
        response = self._request(
            "HEAD", f"/v2/{repo}/manifests/{reference}", _pull(repo), what, headers=_accept(accept)
        )
        response.close()
        digest = response.headers.get("Docker-Content-Digest") or (reference if is_digest(reference) else None)
        if digest is None:  # the header is optional (OCI): the digest of the payload then
            found = self.get_manifest(repo, reference, accept)
            return ManifestHead(found.digest, found.media_type, len(found.payload))
        length = response.headers.get("Content-Length")
        size = int(length) if length and length.isdigit() else None
        return ManifestHead(digest, _content_type(response) or "", size)

    def open_blob(self, repo, digest):
        hasher_for(digest, self.url)  # an unusable digest fails before any request
        what = f"GET blob {repo}@{digest}"
        response = self._request("GET", f"/v2/{repo}/blobs/{digest}", _pull(repo), what, stream=True)
        return RemoteBlob(response, digest, self.url, what)

    def referrers(self, repo, digest, artifact_type=None):
        """The OCI image index of the manifests that refer to `digest` (referrers API, else the tag schema)."""
        what = f"GET referrers {repo}@{digest}"
        params = {"artifactType": artifact_type} if artifact_type else None
        try:
            pages = list(self._pages(f"/v2/{repo}/referrers/{digest}", _pull(repo), what, params=params))
        except errors.RemoteNotFound:
            pages = None
        if pages is None:
            index = self._referrers_tag(repo, digest)
        else:
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
            for page in pages:
                index["manifests"].extend(_manifests_of(page, what, self.url))
        if artifact_type:
            index["manifests"] = [m for m in index["manifests"] if m.get("artifactType") == artifact_type]
        return index

    def has_referrers_api(self, repo, digest):
        """True when the registry answers the referrers API (else clients keep the sha256-<hex> tag)."""
        try:
            pages = self._pages(f"/v2/{repo}/referrers/{digest}", _pull(repo), f"GET referrers {repo}@{digest}")
            next(pages)
            pages.close()
        except errors.RemoteNotFound:
            return False
        return True

    def _referrers_tag(self, repo, digest):
        tag = digest.replace(":", "-", 1)
        try:
            found = self.get_manifest(repo, tag, accept=(OCI_INDEX,))
        except errors.RemoteNotFound:
            return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        what = f"GET referrers tag {repo}:{tag}"
        document = _json(found.payload, what, self.url)
        return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": _manifests_of(document, what, self.url)}

    def tags(self, repo):
        what = f"GET tags of {repo}"
        found = []
        for page in self._pages(f"/v2/{repo}/tags/list", _pull(repo), what):
            tags = page.get("tags") or [] if isinstance(page, dict) else None
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise errors.RemoteInvalid(f"{what}: not a tag list", self.url)
            found.extend(tags)
        return found

    def catalog(self):
        what = "GET catalog"
        for page in self._pages("/v2/_catalog", ("registry:catalog:*",), what):
            names = page.get("repositories") or [] if isinstance(page, dict) else None
            if not isinstance(names, list):
                raise errors.RemoteInvalid(f"{what}: not a repository list", self.url)
            yield from names

    def _pages(self, path, scopes, what, params=None):
        """JSON documents of a listing, following `Link: <...>; rel="next"`."""
        url = self.url + path
        seen = set()
        while url and url not in seen:
            seen.add(url)
            response = self._request("GET", url, scopes, what, params=params, stream=True)
            with response:
                body = self._read_capped(response, what)
            yield _json(body, what, self.url)
            following = response.links.get("next", {}).get("url")
            url = urljoin(url, following) if following else None
            params = None

    # ------------------------------------------------------------------ push side

    def blob_exists(self, repo, digest):
        what = f"HEAD blob {repo}@{digest}"
        try:
            self._request("HEAD", f"/v2/{repo}/blobs/{digest}", _pull(repo), what).close()
        except errors.RemoteNotFound:
            return False
        return True

    def mount_blob(self, repo, digest, from_repo):
        """Cross-repository mount: True when the upstream mounted it (201), False when it did not."""
        what = f"mount blob {digest} from {from_repo} into {repo}"
        scopes = (*_push(repo), f"repository:{from_repo}:pull")
        response = self._request(
            "POST",
            f"/v2/{repo}/blobs/uploads/",
            scopes,
            what,
            retry=False,
            ok=(201, 202),
            params={"mount": digest, "from": from_repo},
            data=b"",
        )
        response.close()
        if response.status_code == 201:
            return True
        self._cancel(response, scopes)
        return False

    def upload_blob(self, repo, digest, chunks, size=None):
        """POST a session, PATCH the chunks (streamed, hashed on the way), PUT ?digest=. Returns the digest."""
        what = f"upload blob {repo}@{digest}"
        scopes = _push(repo)
        hasher = hasher_for(digest, self.url)
        start = self._request("POST", f"/v2/{repo}/blobs/uploads/", scopes, what, retry=False, ok=(202,), data=b"")
        start.close()
        location = self._location(start, what)
        counted = {"bytes": 0}

        def body():
            for chunk in chunks:
                hasher.update(chunk)
                counted["bytes"] += len(chunk)
                yield chunk

        stream = _Sized(body(), size) if size is not None else body()
        headers = {"Content-Type": "application/octet-stream"}
        try:
            patch = self._request(
                "PATCH", location, scopes, what, headers=headers, retry=False, ok=(202, 204), data=stream
            )
        except errors.RemoteError:
            self._cancel(start, scopes)
            raise
        patch.close()
        actual = f"{digest.split(':', 1)[0]}:{hasher.hexdigest()}"
        if actual != digest or (size is not None and counted["bytes"] != size):
            self._cancel(patch, scopes)
            raise errors.DigestMismatch(f"{what}: the {counted['bytes']} bytes sent hash to {actual}", self.url)
        location = self._location(patch, what)
        separator = "&" if "?" in location else "?"
        put = self._request(
            "PUT", f"{location}{separator}digest={digest}", scopes, what, retry=False, ok=(201,), data=b""
        )
        put.close()
        return digest

    def put_manifest(self, repo, reference, payload, media_type):
        what = f"PUT manifest {repo}{'@' if is_digest(reference) else ':'}{reference}"
        if len(payload) > MAX_MANIFEST_BYTES:
            raise errors.RemoteInvalid(f"{what}: manifest exceeds {MAX_MANIFEST_BYTES} bytes", self.url)
        expected = reference if is_digest(reference) else None
        digest = self._check_digest(payload, expected, what, strict=bool(expected))
        response = self._request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            _push(repo),
            what,
            headers={"Content-Type": media_type},
            data=payload,
            ok=(201,),
        )
        response.close()
        answered = response.headers.get("Docker-Content-Digest")
        if answered and answered.split(":", 1)[0] == digest.split(":", 1)[0] and answered != digest:
            raise errors.DigestMismatch(f"{what}: the upstream stored {answered}, not {digest}", self.url)
        return digest

    def delete_manifest(self, repo, digest):
        """DELETE a manifest by digest (tags pointing at it go with it). False when it was not there."""
        what = f"DELETE manifest {repo}@{digest}"
        try:
            self._request("DELETE", f"/v2/{repo}/manifests/{digest}", _delete(repo), what, ok=(202, 200, 204)).close()
        except errors.RemoteNotFound:
            return False
        return True

    def _location(self, response, what):
        location = response.headers.get("Location")
        if not location:
            raise errors.RemoteInvalid(f"{what}: upload answer without a Location", self.url)
        return urljoin(response.url, location)

    def _cancel(self, response, scopes):
        """Best effort: DELETE an upload session we will not finish."""
        location = response.headers.get("Location")
        if not location:
            return
        try:
            self._request(
                "DELETE", urljoin(response.url, location), scopes, "cancel upload", retry=False, ok=(204, 200, 202, 404)
            ).close()
        except errors.RemoteError as exc:
            log.info("upstream %s: could not cancel an upload session: %s", self.url, exc.message)


class _Sized:
    """An iterable with a length: requests sends it with Content-Length instead of chunked."""

    def __init__(self, iterable, size):
        self._iterable = iterable
        self._size = size

    def __iter__(self):
        return iter(self._iterable)

    def __len__(self):
        return self._size


def _pull(repo):
    return (f"repository:{repo}:pull",)


def _push(repo):
    return (f"repository:{repo}:pull,push",)


def _delete(repo):
    return (f"repository:{repo}:delete",)


def _accept(accept):
    return {"Accept": ", ".join(accept) if not isinstance(accept, str) else accept}


def _content_type(response):
    value = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
    return "" if value in ("", "application/json", "text/plain", "application/octet-stream") else value


def _declared_type(payload):
    try:
        value = json.loads(payload).get("mediaType")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return ""
    return value if isinstance(value, str) else ""


def _json(body, what, upstream):
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise errors.RemoteInvalid(f"{what}: the answer is not JSON", upstream) from None


def _manifests_of(document, what, upstream):
    manifests = document.get("manifests") if isinstance(document, dict) else None
    if manifests is None:
        manifests = []
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        raise errors.RemoteInvalid(f"{what}: not an image index", upstream)
    return manifests


def _small_body(response, limit=64 * 1024):
    """Up to `limit` bytes of an error answer (then the connection is released)."""
    try:
        return response.raw.read(limit, decode_content=True) if response.raw is not None else b""
    except STREAM_ERRORS:
        return b""
    finally:
        response.close()


def _reason(exc):
    text = type(exc).__name__
    inner = getattr(exc, "args", None)
    if inner:
        text += f": {str(inner[0])[:200]}"
    return text
