"""Django's PostgreSQL backend, with a connection health check that needs no round trip.

Django checks a persistent connection before its first use in each request (CONN_HEALTH_CHECKS)
with a `SELECT 1`: one extra round trip per request, which for a manifest GET by tag costs as much
PostgreSQL time as the lookup itself. An idle connection has nothing to read, and a server that
goes away (restart, shutdown, a killed backend) sends its termination notice and closes the socket,
which makes the socket readable. So the check is a zero-timeout poll of the socket; only when
something did arrive does it run Django's `SELECT 1` to find out what.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError, base.Database.Error):
            return False
        return not readable or super().is_usable()
