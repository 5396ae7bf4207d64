"""Which requests the asgi worker answers in its event loop's thread (registry_site/server/asgi_bridge.py).

A request is answered there when images/api/v2/fast.py's short way takes it (GET or HEAD of a manifest,
a blob, a tags list, the catalog or /v2/, without a body), except:

- a blob GET: its body is a blob, streamed for as long as the client takes (a pool thread does it);
- a read of a name served from an upstream registry (proxy/routing.py): it may fetch from upstream,
  seconds on the network during which the loop would serve no one.

What is left are short database reads with small answers. Everything else goes to the pool.
Runs in the loop's one context (the proxy table may be read from the database, once a minute).
"""

from django.core.handlers.wsgi import get_path_info

from images.api.v2 import blobs
from images.api.v2.fast import FAST_METHODS, FAST_ROUTE, match
from proxy import routing


def in_loop(meta):
    method = meta["REQUEST_METHOD"]
    if method not in FAST_METHODS:
        return False
    found = match(get_path_info(meta))
    if found is None:
        return False
    route, kwargs = found
    if route.view_class is blobs.BlobView and method == "GET":
        return False
    name = kwargs.get("name")
    try:
        if name is not None and routing.route(name) is not None:
            return False
    except Exception:  # let the view answer whatever is wrong, in a thread
        return False
    meta[FAST_ROUTE] = found  # fast.py's handler takes it from here rather than matching the path again
    return True
