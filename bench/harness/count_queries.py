"""SQL queries and bytes of each page, rendered in-process over the server's database (scale run).

    python bench/harness/count_queries.py HOST JSON_PATHS

JSON_PATHS: {"key": ["/path", admin (bool)]}. Prints {"key": {"status", "queries", "bytes"}} as JSON.
"""

import json
import sys

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def main(host, paths):
    anonymous, admin = Client(HTTP_HOST=host), Client(HTTP_HOST=host)
    admin.force_login(get_user_model().objects.get(username="bench-admin"))
    out = {}
    for key, (path, as_admin) in paths.items():
        client = admin if as_admin else anonymous
        accept = "application/json" if path.startswith("/api/") else "text/html"  # as bench/scale_pages.py
        client.get(path, HTTP_ACCEPT=accept)  # warm caches (configs, sessions) as the timed runs are
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path, HTTP_ACCEPT=accept)
        out[key] = {
            "status": response.status_code,
            "queries": len(ctx.captured_queries),
            "bytes": len(response.content),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
