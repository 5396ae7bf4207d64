"""Visitors browse, search, open a tag, switch platform and copy the pull command."""

import re

from playwright.sync_api import expect


def test_browse_from_home_to_a_tag(page, catalog):
    page.goto("/")
    expect(page.get_by_role("heading", name="Repositories")).to_be_visible()
    expect(page.locator("table.repos")).to_contain_text("library/alpine")
    page.get_by_role("link", name="team/app/api").click()
    expect(page).to_have_url(re.compile(r"/r/team/app/api/$"))
    expect(page.locator("table.tags")).to_contain_text("1.0")
    page.get_by_role("link", name="1.0", exact=True).click()
    expect(page).to_have_url(re.compile(r"/r/team/app/api/-/tags/1.0/$"))
    expect(page.get_by_role("heading", name="Configuration")).to_be_visible()
    expect(page.locator("dl.facts").nth(1)).to_contain_text("/usr/local/bin/app")
    expect(page.locator("table.layers tbody tr")).to_have_count(4)  # 3 layers + config
    expect(page.locator("table.history")).to_contain_text("RUN make step-2")
    expect(page.locator(".referrers")).to_contain_text("sbom")


def test_sort_by_size(page, catalog):
    page.goto("/")
    page.get_by_role("link", name="Size", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=size"))
    first = page.locator("table.repos tbody tr").first
    expect(first).to_contain_text("team/app/api")


def test_search_box(page, catalog):
    page.goto("/")
    box = page.get_by_role("searchbox", name="Search repositories")
    box.fill("multi")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=multi"))
    expect(page.locator("table.repos tbody tr")).to_have_count(1)
    page.get_by_role("link", name="team/multi").click()
    expect(page.get_by_role("heading", name="team/multi")).to_be_visible()


def test_search_without_results(page, catalog):
    page.goto("/?q=zzz-nothing")
    expect(page.get_by_role("heading", name="Nothing matches “zzz-nothing”")).to_be_visible()


def test_platform_switcher(page, catalog):
    page.goto("/r/team/multi/-/tags/latest/")
    switcher = page.get_by_role("navigation", name="Platform")
    expect(switcher.locator(".pill.active")).to_have_text("linux/amd64")
    switcher.get_by_role("link", name="linux/arm64/v8").click()
    expect(switcher.locator(".pill.active")).to_have_text("linux/arm64/v8")
    expect(page.locator("dl.facts").nth(1)).to_contain_text("linux/arm64/v8")


def test_copy_pull_command(page, catalog, settings):
    settings.REGISTRY_PUBLIC_HOST = "registry.example.com"
    page.goto("/r/library/alpine/")
    command = "docker pull registry.example.com/library/alpine:latest"
    expect(page.locator("#pull-command")).to_have_text(command)
    button = page.get_by_role("button", name="Copy pull command")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == command


def test_not_found_page(page, catalog):
    response = page.goto("/r/no/such/repo/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_next_and_previous_pages_of_a_long_catalog(page, transactional_db):
    from tests.support import content

    content.bulk_catalog(70, tags_per_repo=1, namespace_every=0)
    page.goto("/?sort=tags")
    rows = page.locator("table.repos tbody tr")
    expect(rows).to_have_count(50)
    first = rows.first.locator("a.repo-name").inner_text()
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"sort=tags&cursor="))
    expect(rows).to_have_count(21)  # 70 + the seed repository
    expect(page.get_by_role("link", name="Next →")).to_have_count(0)
    page.get_by_role("link", name="← Previous").click()
    expect(rows).to_have_count(50)
    expect(rows.first.locator("a.repo-name")).to_have_text(first)
    page.goto("/?page=2")
    expect(page.get_by_role("status")).to_contain_text("this is the first page")
