"""set_policy / show_policy / apply_retention (CommandError for bad input) and the admin's policy form."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from images.models import Tag
from policies.models import Policy, PolicyChange

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_set_and_show_policy(registry):
    registry.push_blob("team/app", b"x" * 3000)
    out, err = run("set_policy", "team", "--quota", "2KiB", "--immutable", "v*", "release-*", "--keep-last", "3")
    assert json.loads(out)["quota_bytes"] == 2048
    assert "below current usage" in err
    shown = json.loads(run("show_policy", "team", "--json")[0])
    assert shown["policies"][0]["immutable"] == ["v*", "release-*"]
    assert shown["usage"]["used_bytes"] == 3000 and shown["usage"]["over_quota"] is True
    assert "2.9 KiB used of 2 KiB" in run("show_policy", "team")[0]
    run("set_policy", "team/web-*", "--keep-days", "30")
    assert Policy.objects.get(repository="web-*").keep_days == 30
    run("set_policy", "team", "--clear")
    assert not Policy.objects.filter(repository="").exists()
    assert PolicyChange.objects.filter(action="clear", actor="manage.py").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["team", "--quota", "-1"], "can't be negative"),
        (["team", "--quota", "lots"], "invalid size"),
        (["team", "--immutable", "v[1"], "never closed"),
        (["team", "--keep-last", "-2"], "Must not be negative"),
        (["team/web-*", "--quota", "1GiB"], "Quotas are per namespace"),
        (["bad name!"], "is not a namespace"),
    ],
)
def test_bad_input_is_a_command_error(args, message):
    with pytest.raises(CommandError, match=message):
        run("set_policy", *args)
    assert not Policy.objects.exists()


def test_apply_retention_dry_run_json_matches_the_run(registry):
    for i in range(4):
        registry.push_image("team/app", f"t{i}", config=b'{"i":%d}' % i)
        Tag.objects.filter(name=f"t{i}").update(updated_at=timezone.now() - timedelta(days=9 - i))
    run("set_policy", "team", "--keep-last", "2", "--keep-tags", "t0")
    dry = json.loads(run("apply_retention", "--dry-run", "--json")[0])
    assert [i["tag"] for i in dry["items"] if i["kind"] == "tag"] == ["t1"]
    assert Tag.objects.count() == 4
    out, _ = run("apply_retention")
    assert "Removed team/app tag t1" in out
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["t0", "t2", "t3"]


def test_admin_policy_form_validates_and_records(admin_client):
    url = "/admin/policies/policy/add/"
    bad = admin_client.post(url, {"namespace": "team", "repository": "", "quota": "-1", "warn_percent": "80"})
    assert bad.status_code == 200 and "negative" in bad.content.decode()
    ok = admin_client.post(
        url, {"namespace": "team", "repository": "", "quota": "10GiB", "warn_percent": "80", "immutable": "v*"}
    )
    assert ok.status_code == 302, ok.content.decode()[:2000]
    assert Policy.objects.get().quota_bytes == 10 * 1024**3
    assert PolicyChange.objects.get().actor == "admin"
    for page in ("policy", "namespaceusage", "retentionrun", "policychange"):
        assert admin_client.get(f"/admin/policies/{page}/").status_code == 200
