"""The five hot reads under gunicorn's asgi worker, through Berth's own services: a probe, not a way to run Berth.

Measured by hand for issue #31 (bench/RESULTS.md, "Round 2, session 8"): how fast the registry's metadata
reads can be served from Python when neither gthread nor Django's request/middleware/response stack is in
the way. Each request calls the same service functions as the views (`images.services.manifests.get`,
`proxy.reads.list_tags`, `images.services.tags.list_repositories`) and answers with the view's main headers.
Not here, so not measured: authorisation (`admit`), the pull bookkeeping, metrics, the access log, errors
(an unknown name is a 500), Accept negotiation, pagination links.

Django keeps a database connection per context (asgiref's Local); an asyncio server runs each request in a
task of its own, so every request would open a new connection (about 1 ms on SQLite). The probe runs all
its calls in one context made at start-up: they are synchronous and never overlap in the loop's thread.

Run with the project's venv (gunicorn 27, pinned since session 9):

    PYTHONPATH=. DJANGO_SETTINGS_MODULE=registry_site.settings \
        .venv/bin/python -m gunicorn -k asgi -w 2 --preload -b 127.0.0.1:5221 bench.harness.asgi_reads_probe:app

with the same environment (database, STORAGE_PATH, REGISTRY_AUTH=none) as a Berth that holds the data.
"""

import contextvars
import json
import os
import re
import uuid

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"  # the calls below are synchronous, in the loop's thread

import django  # noqa: E402

django.setup()

from images.services import manifests, tags  # noqa: E402
from proxy import reads as proxy_reads  # noqa: E402

CONTEXT = contextvars.copy_context()
MANIFEST = re.compile(r"^/v2/(?P<name>.+?)/manifests/(?P<reference>[^/]+)$")
TAGS = re.compile(r"^/v2/(?P<name>.+?)/tags/list$")
JSON = (b"content-type", b"application/json")
FIXED = (
    (b"docker-distribution-api-version", b"registry/2.0"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def answer(path):
    match = MANIFEST.match(path)
    if match:
        manifest = manifests.get(match["name"], match["reference"])
        digest = manifest.digest.encode()
        return manifest.payload, [
            (b"content-type", manifest.media_type.encode()),
            (b"docker-content-digest", digest),
            (b"etag", b'"' + digest + b'"'),
        ]
    match = TAGS.match(path)
    if match:
        items, _ = proxy_reads.list_tags(match["name"], None, None)
        return json.dumps({"name": match["name"], "tags": items}).encode(), [JSON]
    if path == "/v2/_catalog":
        items, _ = tags.list_repositories(100, None, visible=None)
        return json.dumps({"repositories": items}).encode(), [JSON]
    return b"{}", [JSON]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body, headers = CONTEXT.run(answer, scope["path"])
    headers += [(b"content-length", str(len(body)).encode()), (b"x-request-id", uuid.uuid4().hex.encode()), *FIXED]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
