"""Staff untag and delete with confirmation; admin login and an admin action."""

import re

from playwright.sync_api import expect

from images.models import Repository, RepositoryManifest, Tag
from tests.browser.conftest import ADMIN, sign_in


def test_visitors_see_no_actions(page, catalog):
    page.goto("/r/team/app/api/")
    expect(page.get_by_role("link", name="Untag")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete repository…")).to_have_count(0)


def test_untag_with_confirmation(page, catalog, admin_user_ui):
    sign_in(page, "/r/team/app/api/")
    expect(page).to_have_url(re.compile(r"/r/team/app/api/$"))
    page.locator('tr[data-tag="1.0"]').get_by_role("link", name="Untag").click()
    expect(page.get_by_role("heading", name="Remove tag “1.0” from team/app/api?")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(r"/-/tags/1.0/$"))
    assert Tag.objects.filter(repository__name="team/app/api", name="1.0").exists()
    page.get_by_role("link", name="Remove tag “1.0”…").click()
    page.get_by_role("button", name="Remove tag 1.0").click()
    expect(page.locator(".messages")).to_contain_text("Removed tag 1.0 from team/app/api")
    expect(page.locator('tr[data-tag="1.0"]')).to_have_count(0)
    assert RepositoryManifest.objects.filter(repository__name="team/app/api", manifest__digest=catalog["api"]).exists()


def test_delete_image_with_confirmation(page, catalog, admin_user_ui):
    sign_in(page, "/r/team/app/api/-/tags/1.0/")
    page.get_by_role("link", name="Delete image (and its 1 tag)…").click()
    expect(page.get_by_role("heading")).to_contain_text("and its 1 tag?")
    expect(page.locator(".chips-list")).to_contain_text("1.0")
    page.get_by_role("button", name="Delete image and 1 tag").click()
    expect(page.locator(".messages")).to_contain_text("Deleted image")
    assert not RepositoryManifest.objects.filter(manifest__digest=catalog["api"]).exists()


def test_delete_repository_needs_the_name_typed(page, catalog, admin_user_ui):
    sign_in(page, "/r/team/multi/")
    page.get_by_role("link", name="Delete repository…").click()
    button = page.get_by_role("button", name="Delete repository team/multi")
    expect(button).to_be_disabled()
    page.get_by_label("Type team/multi to confirm").fill("team/mult")
    expect(button).to_be_disabled()
    page.get_by_label("Type team/multi to confirm").fill("team/multi")
    expect(button).to_be_enabled()
    button.click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".messages")).to_contain_text("Deleted repository team/multi")
    assert not Repository.objects.filter(name="team/multi").exists()


def test_edit_description(page, catalog, admin_user_ui):
    sign_in(page, "/r/library/alpine/")
    page.get_by_text("Edit details").click()
    page.get_by_label("Description").fill("A minimal base image.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".description")).to_have_text("A minimal base image.")


def test_admin_login_and_untag_action(page, catalog, admin_user_ui):
    page.goto("/admin/")
    page.fill("#id_username", ADMIN[0])
    page.fill("#id_password", ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Registry content")).to_be_visible()
    page.goto("/admin/images/tag/?q=alpine")
    row = page.locator("#result_list tbody tr", has_text="library/alpine:3.20")
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "untag")
    page.get_by_role("button", name="Go").click()
    expect(page.locator("#content")).to_contain_text("library/alpine:3.20")
    page.get_by_role("button", name="Yes, remove tags").click()
    expect(page.locator(".messagelist")).to_contain_text("Remove tags: 1 done.")
    assert not Tag.objects.filter(repository__name="library/alpine", name="3.20").exists()
    assert Tag.objects.filter(repository__name="library/alpine", name="latest").exists()


def test_filter_then_remove_selected_tags(page, catalog, admin_user_ui):
    for name in ("build-9", "build-10", "build-60", "nightly"):
        Tag.objects.create(
            repository=Repository.objects.get(name="library/alpine"),
            name=name,
            manifest=Tag.objects.get(repository__name="library/alpine", name="latest").manifest,
        )
    sign_in(page, "/r/library/alpine/")
    expect(page.locator(".whoami")).to_contain_text("admin")
    page.get_by_label("Filter tags").fill("build")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page).to_have_url(re.compile(r"q=build"))
    expect(page.locator("table.tags tbody tr")).to_have_count(3)
    page.get_by_label("Select all on this page").check()  # berth.js, under the Content-Security-Policy
    page.get_by_label("Select build-60").uncheck()
    page.get_by_role("button", name="Remove selected tags…").click()
    expect(page.get_by_role("heading", name="Remove 2 tags from library/alpine?")).to_be_visible()
    expect(page.locator("table.selected-tags")).to_contain_text("build-9")
    expect(page.locator("table.selected-tags")).not_to_contain_text("build-60")
    page.get_by_role("button", name="Remove 2 tags").click()
    expect(page.locator(".messages")).to_contain_text("Removed 2 tags from library/alpine: build-9, build-10")
    names = set(Tag.objects.filter(repository__name="library/alpine").values_list("name", flat=True))
    assert names == {"3.20", "latest", "build-60", "nightly"}
