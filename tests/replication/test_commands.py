"""manage.py remote / replication_rule / replicate against distribution 2.8.2 with htpasswd."""

import io
import uuid

import pytest
from django.core.management import CommandError, call_command

from images.models import Tag
from replication.models import Remote
from tests.support.seed import seed_image

pytestmark = pytest.mark.django_db(transaction=True)


def call(*args, stdin=None, monkeypatch=None):
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command(*args, stdout=out)
    return out.getvalue()


def test_remote_rule_and_replicate_wait(distribution_basic, upstream_workdir, monkeypatch):
    repo = f"c{uuid.uuid4().hex[:6]}/app"
    seeded = seed_image(distribution_basic, repo, "1", upstream_workdir)
    url, user = distribution_basic.url, distribution_basic.username
    args = ["remote", "add", "dist", url, "--username", user, "--password-stdin"]
    assert "added" in call(*args, stdin=distribution_basic.password + "\n", monkeypatch=monkeypatch)
    assert distribution_basic.password not in Remote.objects.get(name="dist").password_encrypted
    assert call("remote", "test", "dist").strip() == "remote dist: ok"
    assert "password=(set)" in call("remote", "list")

    call(
        "replication_rule",
        "add",
        "in",
        "--remote",
        "dist",
        "--mode",
        "pull",
        "--repositories",
        repo,
        "--namespace",
        "dr",
    )
    out = call("replicate", "in", "--wait")
    assert f"done\t{repo}:1 -> dr/app\t{seeded.digest}" in out and "succeeded" in out
    assert Tag.objects.get(repository__name="dr/app", name="1").manifest.digest == seeded.digest
    assert "last=succeeded" in call("replication_rule", "list")

    with pytest.raises(CommandError, match="used by rules: in"):
        call("remote", "remove", "dist")
    call("replication_rule", "add", "none", "--remote", "dist", "--mode", "pull", "--repositories", "no/such")
    assert "empty: 0 bytes - nothing matched: repositories 'no/such'" in call("replicate", "none", "--wait")


def test_bad_input_is_a_command_error(distribution_basic, monkeypatch):
    call(
        "remote",
        "add",
        "bad",
        distribution_basic.url,
        "--username",
        "x",
        "--password-stdin",
        stdin="nope\n",
        monkeypatch=monkeypatch,
    )
    with pytest.raises(CommandError, match="credentials refused"):
        call("remote", "test", "bad")
    with pytest.raises(CommandError, match="namespace 'UP'"):
        call(
            "replication_rule",
            "add",
            "r",
            "--remote",
            "bad",
            "--mode",
            "push",
            "--repositories",
            "a/*",
            "--deletes",
            "--namespace",
            "UP",
        )
    call("replication_rule", "add", "r", "--remote", "bad", "--mode", "pull", "--repositories", "a/b")
    with pytest.raises(CommandError, match="failed: 0 bytes - credentials refused"):
        call("replicate", "r", "--wait")
    with pytest.raises(CommandError, match="no rule named 'zz'"):
        call("replicate", "zz")
