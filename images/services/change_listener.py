"""This process's LISTEN on PostgreSQL's `berth_reads` channel, for the read cache (images/services/read_cache.py).

One connection per process, outside Django's (no request ever runs on it), opened at the first cached read
with the same settings as Django's. `generation(connection)` takes in whatever notices the connection has
received (a non-blocking read of its socket) and returns a number that moves with each batch of them; a
thread drains the socket between reads too, so that PostgreSQL's queue never waits on an idle process.

Only that thread connects (a request never waits on a connect): until the first connection, and whenever
it fails (a database restart, a network fault), `generation` answers None (the caller reads the database)
and the thread opens a new one, at most once a second; each connection starts a new generation, so
nothing cached before an outage is served after it.
"""

import logging
import os
import select
import threading
import time

logger = logging.getLogger("berth.read_cache")
CHANNEL = "berth_reads"
RETRY_SECONDS = 1.0
DRAIN_SECONDS = 5.0  # the thread's wait between drains when nothing arrives; then a round trip proves the session
# A peer gone without a word (a network fault) is noticed within seconds, not the system's hours: until then a
# lost notice could leave a cached row stale. (libpq ignores these on a Unix socket, where a peer cannot vanish.)
TCP_TIMEOUTS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                "keepalives_count": 2, "tcp_user_timeout": 10_000}  # fmt: skip


class Listener:
    def __init__(self, params, connect):
        self.params, self.connect = params, connect
        self.lock = threading.Lock()
        self.conn = None
        self.epoch = 0  # a new connection: a new series of generations
        self.received = 0
        self.failed_at = 0.0
        self.stopped = False
        threading.Thread(target=self._drain_forever, name="berth-read-cache-listener", daemon=True).start()

    def _open(self):
        """Connect and LISTEN (the thread, without the lock: readers go on meanwhile, uncached)."""
        try:
            conn = self.connect({**self.params, **TCP_TIMEOUTS})
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
        except Exception as exc:
            if not self.failed_at:
                logger.warning("read cache paused: cannot listen for changes: %s", exc)
            self.failed_at = time.monotonic()
            return
        with self.lock:
            if self.stopped:
                conn.close()
                return
            if self.failed_at:
                logger.info("read cache resumed: listening for changes again")
            self.conn, self.epoch, self.received, self.failed_at = conn, self.epoch + 1, 0, 0.0

    def generation(self):
        """(listener, epoch, notices received) after taking in what has arrived; None while not listening."""
        with self.lock:
            if self.conn is None:  # (re)opened by the thread only: a request never waits on a connect
                return None
            try:
                self._take_in()
            except Exception as exc:
                self._lost(exc)
                return None
            return (id(self), self.epoch, self.received)

    def settle(self):
        """A round trip on the listening session: PostgreSQL sends a session every notice it was signalled
        before it answers the session's next command, so afterwards this process has taken in every change
        committed before the call."""
        with self.lock:
            if self.conn is None:
                return
            try:
                with self.conn.cursor() as cursor:
                    cursor.execute("SELECT 1")
                self._take_in()
            except Exception as exc:
                self._lost(exc)

    def _take_in(self):
        self.conn.poll()  # libpq reads what the socket holds, without waiting
        if self.conn.notifies:
            self.received += len(self.conn.notifies)
            self.conn.notifies.clear()

    def _lost(self, exc):
        logger.warning("read cache paused: the change listener's connection failed: %s", exc)
        try:
            self.conn.close()
        except Exception:
            pass
        self.conn, self.failed_at = None, time.monotonic()

    def _drain_forever(self):
        while not self.stopped:
            conn = self.conn
            if conn is None:
                self._open()
                if self.conn is None:
                    time.sleep(RETRY_SECONDS)
                continue
            try:
                readable = select.select([conn], [], [], DRAIN_SECONDS)[0]
            except (OSError, ValueError):  # closed under us: the next round sees it
                time.sleep(0.05)
                readable = True
            if readable:
                self.generation()
            else:  # quiet for a while: prove the session is alive (a dead peer is found within TCP_TIMEOUTS)
                self.settle()

    def close(self):
        with self.lock:
            self.stopped = True
            if self.conn is not None:
                self.conn.close()
                self.conn = None


_listeners = {}
_lock = threading.Lock()


def generation(connection):
    """The listener's generation for the database `connection` (a Django PostgreSQL connection)."""
    mine = getattr(connection, "_berth_listener", None)
    if mine is None or mine[0] != os.getpid() or mine[1] != connection.settings_dict["NAME"] or mine[2].stopped:
        mine = connection._berth_listener = (os.getpid(), connection.settings_dict["NAME"], _listener_for(connection))
    return mine[2].generation()


def settle(connection):
    """Listener.settle for this process's listener on `connection`'s database, if it has one."""
    mine = getattr(connection, "_berth_listener", None)
    if mine is not None and mine[0] == os.getpid() and not mine[2].stopped:
        mine[2].settle()


def _listener_for(connection):
    params = connection.get_connection_params()
    key = (os.getpid(), repr(sorted(params.items(), key=lambda item: item[0])))
    with _lock:
        listener = _listeners.get(key)
        if listener is None:
            listener = _listeners[key] = Listener(params, connection.get_new_connection)
    return listener


def close_all():
    """Stop listening (the test suite, before it drops its database)."""
    with _lock:
        listeners = list(_listeners.values())
        _listeners.clear()
    for listener in listeners:
        listener.close()
