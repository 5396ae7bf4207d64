"""The Activity tab and restoring a tag from its history, with the confirmation, in Chromium."""

import re

from playwright.sync_api import expect

from images.models import Tag
from tests.browser.conftest import sign_in
from tests.browser.test_csp import visit, watched  # noqa: F401, F811  (fixture)
from tests.support import content


def test_activity_tab_lists_pushes(page, catalog):
    page.goto("/r/team/app/api/")
    page.get_by_role("link", name="Activity").click()
    expect(page).to_have_url(re.compile(r"/r/team/app/api/-/activity/$"))
    expect(page.get_by_role("heading", name="Activity of team/app/api")).to_be_visible()
    rows = page.locator('table.activity tr[data-action="push"]')
    expect(rows).to_have_count(3)  # 1.0, 1.1 and the referrer (by digest)
    expect(page.locator("table.activity")).to_contain_text(catalog["api"].split(":", 1)[1][:12])


def test_restore_a_tag_with_confirmation(page, catalog, admin_user_ui):
    newer = content.push_image("team/app/api", "1.0", label="api-newer", layers=1)
    sign_in(page, "/r/team/app/api/-/tags/1.0/")
    history = page.locator("#tag-history")
    expect(history.locator("tr[data-digest]")).to_have_count(2)
    older = history.locator(f'tr[data-digest="{catalog["api"]}"]')
    older.get_by_role("link", name="Restore…").click()
    expect(page.get_by_role("heading", name="Restore tag “1.0” of team/app/api?")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(r"/-/activity/$"))
    assert Tag.objects.get(repository__name="team/app/api", name="1.0").manifest.digest == newer

    page.goto("/r/team/app/api/-/tags/1.0/")
    page.locator("#tag-history").locator(f'tr[data-digest="{catalog["api"]}"]').get_by_role(
        "link", name="Restore…"
    ).click()
    page.get_by_role("button", name="Restore 1.0").click()
    expect(page.locator(".messages")).to_contain_text(f"Restored team/app/api:1.0 to {catalog['api']}")
    assert Tag.objects.get(repository__name="team/app/api", name="1.0").manifest.digest == catalog["api"]
    expect(page.locator("#tag-history tr[data-digest]").first).to_contain_text("restored")
    expect(page.locator("#tag-history tr[data-digest]").first).to_contain_text("admin")


def test_visitors_get_no_restore_button(page, catalog):
    content.push_image("team/app/api", "1.0", label="api-newer", layers=1)
    page.goto("/r/team/app/api/-/tags/1.0/")
    expect(page.locator("#tag-history tr[data-digest]")).to_have_count(2)
    expect(page.get_by_role("link", name="Restore…")).to_have_count(0)


def test_activity_pages_keep_the_content_security_policy(watched, catalog, admin_user_ui):  # noqa: F811
    content.push_image("team/app/api", "1.0", label="api-newer", layers=1)
    sign_in(watched)
    for path in (
        "/r/team/app/api/-/activity/",
        "/n/team/-/activity/",
        "/r/team/app/api/-/tags/1.0/",
        f"/r/team/app/api/-/tags/1.0/restore/?digest={catalog['api']}",
        "/admin/activity/event/",
        "/api/activity/",
    ):
        visit(watched, path)
