"""proxy/routing.py: a proxy added by another process (its stamp file touched) is seen by every request that
starts after the next stamp check, also the ones running beside the request that makes the check.

Eight concurrent cold pulls through a namespace added a moment before (tests/e2e/test_proxy_cache.py) once got
`NAME_UNKNOWN` for one of them: a thread that found the check just started took the table from before it."""

import threading
import time

from django.db import connection

from proxy import routing
from proxy.models import Proxy

NAME = "ghcr/org/img"


def test_threads_beside_the_stamp_check_get_the_table_it_reads(transactional_db, settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    assert routing.route(NAME) is None  # the table is read: no proxies yet
    Proxy.objects.create(namespace="ghcr", upstream_url="https://ghcr.example")  # another process's change...
    routing._stamp_path().write_text("changed")  # ...and its stamp
    time.sleep(routing.STAMP_SECONDS + 0.1)  # the next request checks the stamp

    checking, real_stamp = threading.Event(), routing._stamp

    def slow_stamp():  # the real stat, taking long enough for another request to arrive meanwhile
        checking.set()
        time.sleep(0.3)
        return real_stamp()

    monkeypatch.setattr(routing, "_stamp", slow_stamp)
    found = {}

    def check():
        try:
            found["checker"] = routing.route(NAME)
        finally:
            connection.close()

    checker = threading.Thread(target=check)
    checker.start()
    assert checking.wait(5)
    found["beside"] = routing.route(NAME)  # a request that starts while the check runs
    checker.join(5)
    assert found["checker"] is not None and found["checker"].upstream_name == "org/img"
    assert found["beside"] is not None and found["beside"].upstream_name == "org/img"
