"""Online garbage collection under fire: several clients push (and move and delete tags) continuously
while `manage.py garbage_collect --grace 0s` runs again and again against the same database and storage.
At the end every tag pulls intact: no manifest ever lost a blob.

A private gunicorn Berth is used (not the session one), so the collector can be as aggressive as it likes.
"""

import json
import os
import random
import threading
import time

import pytest
import requests

from tests.e2e.ops_helpers import (
    PushFailed,
    all_tags,
    manage,
    pull_everything,
    sha256,
    shell,
    start_open_server,
    try_push_image,
)

pytestmark = pytest.mark.e2e

PUSHERS = 4
DURATION = float(os.environ.get("BERTH_GC_STRESS_SECONDS", "25"))


@pytest.fixture(scope="module")
def gc_server(e2e_tmp):
    server = start_open_server(e2e_tmp / "ops-gc", BERTH_TAG_HISTORY_DAYS="0")  # moved tags' images are garbage
    yield server
    server.stop()


class Pusher(threading.Thread):
    """Pushes images built from a few shared base layers plus its own; moves tags; deletes some."""

    def __init__(self, index, base_url, stop, shared):
        super().__init__(daemon=True, name=f"pusher-{index}")
        self.index, self.base_url, self.stop, self.shared = index, base_url, stop, shared
        self.session = requests.Session()
        self.rng = random.Random(index)
        self.pushed = {}  # (repo, tag) -> manifest digest, of the last successful push of the tag
        self.deleted = set()
        self.successes = self.retries = 0
        self.errors = []

    def image(self, n):
        base = self.rng.choice(self.shared)  # the same layer pushed by everyone: dedup races
        own = os.urandom(2048) + f"{self.index}-{n}".encode()
        config = json.dumps({"os": "linux", "architecture": "amd64", "pusher": self.index, "n": n}).encode()
        return config, [base, own]

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            repo = f"stress/r{n % 2}"  # two repositories shared by every pusher: contention on their locks
            tag = f"p{self.index}-{n % 6}"  # tags are moved: their old manifests become untagged garbage
            config, layers = self.image(n)
            for _ in range(8):
                try:
                    digest = try_push_image(self.session, self.base_url, repo, tag, config, layers)
                    self.pushed[(repo, tag)] = digest
                    self.deleted.discard((repo, tag))
                    self.successes += 1
                    break
                except PushFailed as exc:  # e.g. the collector swept a blob link (grace 0): push again
                    self.retries += 1
                    last = str(exc)
                except requests.RequestException as exc:
                    self.retries += 1
                    last = repr(exc)
            else:
                self.errors.append(last)
            if n % 5 == 0 and self.pushed:  # delete a tag now and then
                victim = self.rng.choice(sorted(self.pushed))
                r = self.session.delete(f"{self.base_url}/v2/{victim[0]}/manifests/{victim[1]}", timeout=60)
                if r.status_code == 202:
                    self.pushed.pop(victim)
                    self.deleted.add(victim)


def test_collector_runs_while_clients_push_and_every_tag_pulls_intact(gc_server):
    shared = [os.urandom(4096) + bytes([i]) for i in range(3)]
    stop = threading.Event()
    pushers = [Pusher(i, gc_server.url, stop, shared) for i in range(PUSHERS)]
    for p in pushers:
        p.start()

    runs, outputs = 0, []
    deadline = time.monotonic() + DURATION
    try:
        # at least three collections while the pushers run, however long each takes (a manage.py process each)
        while runs < 3 or time.monotonic() < deadline:
            args = ["garbage_collect", "--grace", "0s", "--json"]
            if runs % 2:
                args.append("--delete-untagged")
            result = manage(gc_server, *args, timeout=300)
            outputs.append(json.loads(result.stdout.strip().splitlines()[-1]))
            runs += 1
    finally:
        stop.set()
        for p in pushers:
            p.join(120)
    assert not any(p.is_alive() for p in pushers)

    # One last aggressive run with nobody pushing, then everything that is tagged must pull intact.
    outputs.append(
        json.loads(
            manage(gc_server, "garbage_collect", "--grace", "0s", "--delete-untagged", "--json")
            .stdout.strip()
            .splitlines()[-1]
        )
    )
    tags = all_tags(gc_server.url)
    expected = {}
    for p in pushers:
        expected.update(p.pushed)
    assert expected, "no push succeeded"
    for repo, tag in expected:
        assert tag in tags.get(repo, []), f"{repo}:{tag} lost its tag"
    pulled = 0
    for repo, names in tags.items():
        for tag in names:
            digest = pull_everything(gc_server.url, repo, tag)
            if (repo, tag) in expected:
                assert digest == expected[(repo, tag)], f"{repo}:{tag} names another manifest"
            pulled += 1

    successes = sum(p.successes for p in pushers)
    errors = [e for p in pushers for e in p.errors]
    freed = sum(o["blobs"] for o in outputs)
    print(
        f"{runs} collections while pushing, {successes} pushes ({sum(p.retries for p in pushers)} retried), "
        f"{freed} blobs and {sum(o['manifests'] for o in outputs)} manifests collected, {pulled} tags verified"
    )
    assert successes >= PUSHERS * 5, f"too few pushes succeeded: {successes}; errors: {errors[:5]}"
    assert freed > 0, "the collector never deleted anything"
    assert not errors, f"pushes that failed 8 times in a row: {errors[:5]}"

    # Storage holds exactly the blobs the database knows (nothing dangling, no orphan left behind).
    check = manage(gc_server, "verify_blobs")
    assert "0 missing, 0 corrupt" in check.stdout
    on_disk = {f"sha256:{p.name}" for p in (gc_server.storage / "blobs" / "sha256").glob("*/*")}
    rows = set(
        shell(
            gc_server,
            "from images.models import Blob\nfor d in Blob.objects.values_list('digest', flat=True): print(d)",
        ).split()
    )
    assert on_disk == rows
    assert all(sha256(b"") != d for d in rows)
