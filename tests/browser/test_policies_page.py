"""An organisation admin opens the namespace settings page from the organisation page in Chromium, sets a
quota and rules, sees the usage warning, previews and runs retention; no CSP violation; fits 390 px."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership, Organisation
from images.models import Tag
from policies.models import Policy
from tests.browser.conftest import PHONE
from tests.browser.test_organisations import RECORD_VIOLATIONS, sign_in_as
from tests.support import content

OLIVIA = ("olivia", "olivia-secret-pass")


@pytest.fixture
def acme(transactional_db, django_user_model):
    olivia = django_user_model.objects.create_user(OLIVIA[0], password=OLIVIA[1])
    org = Organisation.objects.create(name="acme")
    Membership.objects.create(organisation=org, user=olivia, role="admin")
    for i in range(3):
        content.push_image("acme/web", f"build-{i}", label=f"web{i}", layers=1)
        Tag.objects.filter(name=f"build-{i}").update(updated_at=timezone.now() - timedelta(days=9 - i))
    return org


def test_org_admin_sets_policies_and_runs_retention(new_page, acme, tmp_path):
    page = new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in_as(page, OLIVIA, "/orgs/acme/")
    page.get_by_role("link", name="quota and lifecycle policies").click()
    expect(page.get_by_role("heading", name="acme: storage and policies")).to_be_visible()

    form = page.locator("#set-policy")
    form.get_by_label("Quota").fill("-3GiB")
    form.get_by_role("button", name="Save policy").click()
    expect(page.locator("#set-policy")).to_contain_text("can't be negative")

    form = page.locator("#set-policy")
    form.get_by_label("Quota").fill("1KiB")  # below what the three images use
    form.get_by_label("Immutable tags").fill("v*")
    form.get_by_label("Keep the last N tags").fill("1")
    form.get_by_role("button", name="Save policy").click()
    expect(page.locator(".messages")).to_contain_text("below current usage")
    expect(page.locator("[data-over-quota]")).to_be_visible()
    assert Policy.objects.get().keep_last == 1

    page.get_by_role("link", name="Preview (dry run)").click()
    expect(page.locator("#preview")).to_contain_text("tag build-0")
    expect(page.locator("#preview")).to_contain_text("tag build-1")
    expect(page.locator("#preview")).not_to_contain_text("tag build-2")
    page.get_by_role("button", name="Run now").click()
    expect(page.locator(".messages")).to_contain_text("Removed 2 tags and 2 manifests")
    assert list(Tag.objects.values_list("name", flat=True)) == ["build-2"]
    assert page.evaluate("window.__cspViolations") == []

    page = new_page(PHONE)
    sign_in_as(page, OLIVIA, "/policies/acme/?preview=1")
    page.screenshot(path=str(tmp_path / "policies-390.png"), full_page=True)
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391)"
        ".map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 12)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], wide
