"""The namespace settings page: admins set policies (form errors for bad input), see usage with the warning,
preview and run retention; members read; outsiders get 404; the organisation page links to it."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Membership, Organisation
from policies.models import Policy, RetentionRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(settings, client):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    User = get_user_model()
    org = Organisation.objects.create(name="acme")
    made = {n: User.objects.create_user(n, password="pw") for n in ("admin", "reader", "outsider")}
    Membership.objects.create(organisation=org, user=made["admin"], role="admin")
    Membership.objects.create(organisation=org, user=made["reader"], role="read")
    return made


FORM = {"repository": "", "quota": "1000", "warn_percent": "50", "immutable": "v*, release-*", "keep_last": "2"}


def test_admin_sets_a_policy_and_sees_usage_warning(client, people, registry):
    client.force_login(people["admin"])
    assert 'href="/policies/acme/"' in client.get("/orgs/acme/").content.decode()
    response = client.post("/policies/acme/set/", FORM)
    assert response.status_code == 302
    policy = Policy.objects.get()
    assert (policy.quota_bytes, policy.immutable, policy.keep_last) == (1000, ["v*", "release-*"], 2)
    registry.push_blob("acme/app", b"x" * 600)
    page = client.get("/policies/acme/").content.decode()
    assert "600 B" in page and "1000 B" in page and "data-warning" in page
    assert "Storage: 600 B of 1000 B used (60.0%)" in client.get("/orgs/acme/").content.decode()
    assert "once garbage collection has run" in page


@pytest.mark.parametrize(
    "change, error",
    [
        ({"quota": "-1GiB"}, "can&#x27;t be negative"),
        ({"immutable": "v[1"}, "is never closed"),
        ({"keep_last": "-3"}, "Must not be negative"),
        ({"repository": "web-*", "quota": "1GiB"}, "Quotas are per namespace"),
    ],
)
def test_bad_input_shows_form_errors(client, people, change, error):
    client.force_login(people["admin"])
    response = client.post("/policies/acme/set/", {**FORM, **change})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Policy.objects.exists()


def test_quota_below_usage_is_saved_and_says_so(client, people, registry):
    registry.push_blob("acme/app", b"x" * 2000)
    client.force_login(people["admin"])
    page = client.post("/policies/acme/set/", FORM, follow=True).content.decode()
    assert "below current usage" in page and "data-over-quota" in page


def test_reader_reads_but_cannot_change(client, people):
    client.force_login(people["reader"])
    page = client.get("/policies/acme/").content.decode()
    assert "read-only" in page and "set-policy" not in page
    assert client.post("/policies/acme/set/", FORM).status_code == 403
    assert client.post("/policies/acme/run/").status_code == 403
    assert not Policy.objects.exists() and not RetentionRun.objects.exists()


def test_outsider_gets_404(client, people):
    client.force_login(people["outsider"])
    assert client.get("/policies/acme/").status_code == 404
    assert client.post("/policies/acme/set/", FORM).status_code == 404


def test_preview_lists_what_run_removes(client, people, registry):
    from datetime import timedelta

    from django.utils import timezone

    from images.models import Tag

    for i in range(3):
        registry.push_image("acme/app", f"t{i}", config=b'{"i":%d}' % i)
        Tag.objects.filter(name=f"t{i}").update(updated_at=timezone.now() - timedelta(days=9 - i))
    client.force_login(people["admin"])
    client.post("/policies/acme/set/", {"keep_last": "1"})
    page = client.get("/policies/acme/?preview=1").content.decode()
    assert "tag t0" in page and "tag t1" in page and "tag t2" not in page
    client.post("/policies/acme/run/")
    assert list(Tag.objects.values_list("name", flat=True)) == ["t2"]


def test_catalog_repository_delete_says_why_an_immutable_tag_stays(admin_client, registry):
    from accounts.services.organisations import OPERATOR
    from images.models import Repository
    from policies.services import rules

    registry.push_image("acme/app", "v1")
    rules.set_policy(OPERATOR, "acme", {"immutable": ["v*"]})
    response = admin_client.post("/r/acme/app/-/delete/", {"confirm_name": "acme/app"}, follow=True)
    assert response.status_code == 200 and "tag v1 is immutable" in response.content.decode()
    assert Repository.objects.filter(name="acme/app").exists()
