"""The mirror rows: Berth's pull-through cache against distribution 2.8.2 in proxy mode (`proxy: remoteurl:`).

One upstream (Debian's docker-registry, open, seeded with the typical images) sits behind a counting
pass-through proxy (tests/support/counting_proxy.py); both caches get that proxy as their upstream:

    upstream  <-  counting proxy  <-  reference: docker-registry with proxy: remoteurl: <proxy>
                                  <-  berth: gunicorn + PostgreSQL with MIRROR_SOURCE=<proxy>

Per repetition both caches start empty (fresh storage, a fresh database for Berth), then:
  - cold pull: skopeo copy of each typical image from the cache to a fresh dir: (the cache fetches it);
  - warm pull: the same again (served from the cache);
then both start empty again for 8 concurrent cold pulls of typical-rand, with the blob bytes the
upstream sent through the counting proxy, as a multiple of one copy of the image.
docker-registry 2.8.2 panics at start when its proxy upstream does not answer: the upstream and the
counting proxy start first.
"""

import time

from harness import clients, memory, servers
from tests.support.counting_proxy import CountingProxy

MiB = 1 << 20
IMAGES = ("typical-rand", "typical-text")
CONCURRENT_IMAGE = "typical-rand"

PROXY_CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
proxy:
  remoteurl: {remote}
"""


class ReferenceProxy(servers.Reference):
    """docker-registry in proxy mode (a pull-through cache of `remote`; it refuses pushes)."""

    kind = "docker-registry-proxy"

    def __init__(self, workdir, remote):
        super().__init__(workdir)
        self.remote = remote

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.config.write_text(PROXY_CONFIG.format(root=self.root, addr=self.host, remote=self.remote))
        self.proc = servers.spawn(["docker-registry", "serve", str(self.config)], self.log)
        servers.wait_until_answering(f"{self.url}/v2/", self.proc, self.log)
        return self


class BerthMirror(servers.Berth):
    """Berth with MIRROR_SOURCE: a transparent mirror of `remote` (proxy/ of the proxy-cache branch)."""

    def __init__(self, workdir, database_url, root, remote):
        super().__init__(workdir, database_url, root=root)
        self.remote = remote

    def env(self):
        return {**super().env(), "MIRROR_SOURCE": self.remote}


class MirrorRig:
    def __init__(self, run_dir, database_url, berth_root, layouts, log):
        self.dir = run_dir / "mirror"
        self.database_url = database_url
        self.berth_root = berth_root
        self.layouts = {name: layouts[name] for name in IMAGES}
        self.log = log
        self.upstream = None
        self.counter = None
        self.caches = {}
        self.generation = 0

    def start(self):
        self.upstream = servers.Reference(self.dir / "upstream").start()
        for name, lay in self.layouts.items():
            clients.skopeo_push(lay, self.upstream.host, f"bench/{name}")
        self.counter = CountingProxy(self.upstream.url).start()
        self.log(f"  mirror upstream {self.upstream.url}, counted through {self.counter.url}")
        return self

    def fresh_caches(self):
        """Both caches empty: stop the previous ones (Berth's database is dropped) and start new ones."""
        self.stop_caches()
        self.generation += 1
        remote = self.counter.url
        self.caches["berth"] = BerthMirror(
            self.dir / f"berth-{self.generation}", self.database_url, self.berth_root, remote
        )
        self.caches["berth"].start()
        self.caches["reference"] = ReferenceProxy(self.dir / f"reference-{self.generation}", remote).start()
        self.counter.reset()

    def check_is_mirror(self, label):
        """A pull through the cache must reach the upstream: else the rows would measure nothing."""
        host = self.caches[label].host
        status = clients.requests.get(
            f"http://{host}/v2/bench/{CONCURRENT_IMAGE}/manifests/latest",
            headers={"Accept": clients.MANIFEST_ACCEPT},
            timeout=60,
        ).status_code
        if status != 200:
            raise clients.ClientError(
                f"{label} does not mirror {self.counter.url}: manifest GET -> {status}"
                + (" (Berth without proxy/: merge the proxy-cache branch)" if label == "berth" else "")
            )

    def pull(self, label, name, scratch, parallel=1):
        """(wall seconds, the cache's CPU seconds, requests the upstream got) of skopeo pulling `name`."""
        cache = self.caches[label]
        requests_before = self.counter.requests()
        cpu_before = memory.cpu_seconds(cache.pids(), cache.proc.pid)
        started = time.perf_counter()
        try:
            clients.skopeo_pull(cache.host, f"bench/{name}", scratch, parallel=parallel)
        except clients.ClientError as exc:
            raise clients.ClientError(f"{label} (the cache at {cache.url}, log {cache.log}) failed: {exc}") from None
        secs = time.perf_counter() - started
        cpu = memory.cpu_seconds(cache.pids(), cache.proc.pid) - cpu_before
        return secs, cpu, self.counter.requests() - requests_before

    def upstream_blob_bytes(self, name):
        return self.counter.body_bytes(f"/v2/bench/{name}/blobs/", method="GET")

    def stop_caches(self):
        for cache in self.caches.values():
            cache.stop()
        self.caches = {}

    def stop(self):
        self.stop_caches()
        if self.counter is not None:
            self.counter.stop()
        if self.upstream is not None:
            self.upstream.stop()


def define(results, layouts, concurrent):
    tput = {"unit": "MiB/s", "better": "higher", "target": ("ratio>=", 1.0), "group": "mirror (pull-through cache)"}
    for name in IMAGES:
        size = layouts[name].transfer_bytes / MiB
        results.define(f"mirror.cold.{name}", title=f"cold pull {name} ({size:.0f} MiB) through the cache", **tput)
        results.define(f"mirror.warm.{name}", title=f"warm pull {name} through the cache", **tput)
    results.define(
        "mirror.concurrent_upstream",
        unit="x",
        better="lower",
        group="mirror (pull-through cache)",
        target=("<=", 1.1),
        title=f"upstream bytes for {concurrent} concurrent cold pulls of {CONCURRENT_IMAGE} / one copy",
    )
    results.define(
        "mirror.concurrent",
        unit="MiB/s",
        better="higher",
        group="mirror (pull-through cache)",
        title=f"{concurrent} concurrent cold pulls of {CONCURRENT_IMAGE} (through the counting proxy)",
    )
    cpu = {"unit": "s", "better": "lower", "group": "mirror: the cache's CPU per pull (Berth's without its PostgreSQL)"}
    for name in IMAGES:
        for temperature in ("cold", "warm"):
            results.define(f"mirror.cpu.{temperature}.{name}", title=f"{temperature} pull {name}: CPU s", **cpu)
    upstream = {"unit": "req", "better": "lower", "group": "mirror: requests the upstream got per pull"}
    for name in IMAGES:
        for temperature in ("cold", "warm"):
            results.define(f"mirror.upstream.{temperature}.{name}", title=f"{temperature} pull {name}", **upstream)


def run_rep(rig, results, rep, order, scratch, concurrent, log):
    rig.fresh_caches()
    for label in order:
        rig.check_is_mirror(label)
    rig.fresh_caches()  # the check fetched a manifest: start cold again
    for name, lay in rig.layouts.items():
        for temperature in ("cold", "warm"):
            for label in order:
                secs, cpu, asked = rig.pull(label, name, scratch)
                rate = lay.transfer_bytes / MiB / secs
                results.add(f"mirror.{temperature}.{name}", label, rate, extra={"seconds": secs})
                results.add(f"mirror.cpu.{temperature}.{name}", label, cpu)
                results.add(f"mirror.upstream.{temperature}.{name}", label, asked)
                log(
                    f"  rep {rep} {label:9s} mirror {temperature} pull {name:13s} {secs:7.2f} s {rate:8.1f} MiB/s,"
                    f" CPU {cpu:5.2f} s, {asked} upstream requests"
                )
    rig.fresh_caches()
    lay = rig.layouts[CONCURRENT_IMAGE]
    one_copy = sum(layer["size"] for layer in lay.layers) + lay.config_size
    for label in order:
        before = rig.upstream_blob_bytes(CONCURRENT_IMAGE)
        secs, _, _ = rig.pull(label, CONCURRENT_IMAGE, scratch, parallel=concurrent)
        moved = rig.upstream_blob_bytes(CONCURRENT_IMAGE) - before
        results.add("mirror.concurrent_upstream", label, moved / one_copy, extra={"bytes": moved})
        results.add("mirror.concurrent", label, concurrent * lay.transfer_bytes / MiB / secs, extra={"seconds": secs})
        log(
            f"  rep {rep} {label:9s} mirror {concurrent} concurrent cold pulls {secs:7.2f} s,"
            f" upstream sent {moved / MiB:.0f} MiB of blobs ({moved / one_copy:.2f} copies)"
        )
