"""Accessibility: every page passes axe-core's WCAG 2.0/2.1 A and AA rules, at desktop and phone width,
in the light and the dark colour scheme, signed out and signed in (staff and a plain user).

The pages are found by crawling same-origin links from the start pages below (bounded, one page of each
shape: digests, tags and query values are not told apart), plus the pages that only a form reaches.
Adding a page: one line in START_PAGES, or one entry in FORM_FLOWS if it needs a POST.
"""

import re

import pytest
from django.template.loader import render_to_string
from playwright.sync_api import expect

from accounts.models import Membership, Organisation, RepositoryGrant, Team
from images.models import Repository
from tests.browser.axe import check_everywhere, same_origin_links
from tests.browser.conftest import ADMIN, DESKTOP, PHONE

USER = ("reader", "reader-secret-pass")
VIEWPORTS = (DESKTOP, PHONE)
MAX_PAGES = 40
SAME_PAGE_KEYS = {"sort", "ordering", "format", "page", "cursor"}  # query parameters that change no part of the page

# Where the crawl starts, per visitor (each also starts at "/"). Pages no link leads to go here.
START_PAGES = {
    "visitor": [
        "/?q=api",
        "/?q=zzz-nothing-matches",
        "/accounts/login/",
        "/api/",
        "/r/no/such/repository/",  # 404
    ],
    "staff": [
        "/accounts/tokens/",
        "/orgs/",
        "/r/team/app/api/-/untag/?tag=1.0&tag=1.1",
        "/api/repositories/",
    ],
    "user": [
        "/accounts/tokens/",
        "/orgs/",
        "/r/team/app/api/-/delete/",  # 403
    ],
}
# Never followed: Django's own admin, raw API formats and the registry protocol, files (downloads such as
# the activity export), signing out.
SKIP = [
    re.compile(p)
    for p in (
        r"^/admin/",
        r"^/static/",
        r"^/v[12]/",
        r"format=(?!api)",
        r"^/api/schema",
        r"/export/",
        r"logout",
        r"^/metrics",
    )
]


def sign_in_and_submit(credentials):
    def flow(page):
        page.goto("/accounts/login/")
        page.fill("#id_username", credentials[0])
        page.fill("#id_password", "not-the-password")
        page.click("main button[type=submit]")

    return flow


def create_token(page):
    page.goto("/accounts/tokens/")
    page.get_by_label("Name").fill("ci-deploy")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def invalid_token(page):
    page.goto("/accounts/tokens/")
    page.get_by_label("Name").fill("not a valid name!")
    page.get_by_role("button", name="Create token").click()


def bad_request(page):
    assert page.goto("/?" + "&".join(f"f{i}=1" for i in range(1100))).status == 400


def server_error(page):
    page.goto("/storage/")  # the 500 page as the handler renders it (no context), on the site's origin
    page.set_content(render_to_string("500.html"))


# Pages a form (or an error) leads to: name -> (visitor, steps that end on the page).
FORM_FLOWS = {
    "sign-in-failed": ("visitor", sign_in_and_submit(USER)),
    "bad-request": ("visitor", bad_request),
    "server-error": ("visitor", server_error),
    "token-created": ("user", create_token),
    "token-form-errors": ("user", invalid_token),
}


def shape(path):
    """Pages of one shape show the same template with other data: check one of them."""
    path = re.sub(r"sha256:[0-9a-f]{64}", "D", path)
    path = re.sub(r"/-/(tags|v1)/[^/]+/", r"/-/\1/T/", path)
    path = re.sub(r"/(\d+)/", "/N/", path)
    path = re.sub(r"^/api/[^?]*?/(N/)?(\?|$)", r"/api/R/\1\2", path)  # one DRF template for every resource
    base, _, query = path.partition("?")
    keys = sorted({pair.partition("=")[0] for pair in query.split("&") if pair} - SAME_PAGE_KEYS)
    return base, tuple(keys)


@pytest.fixture
def people(transactional_db, django_user_model, admin_user_ui):
    """The staff admin, and a plain user who administers an organisation (with a team and a grant)."""
    user = django_user_model.objects.create_user(USER[0], password=USER[1])
    org = Organisation.objects.create(name="team", description="The team's images.")
    Membership.objects.create(organisation=org, user=user, role="admin")
    devs = Team.objects.create(organisation=org, name="devs")
    devs.members.add(user)
    RepositoryGrant.objects.create(repository=Repository.objects.get(name="team/multi"), team=devs, role="write")
    return {"staff": ADMIN, "user": USER}


def visitor_page(new_page, people, who):
    page = new_page(DESKTOP)
    if who != "visitor":
        page.goto("/accounts/login/?next=/")
        page.fill("#id_username", people[who][0])
        page.fill("#id_password", people[who][1])
        page.click("main button[type=submit]")
        expect(page.locator(".whoami")).to_contain_text(people[who][0])
    return page


@pytest.mark.parametrize("who", ["visitor", "staff", "user"])
def test_every_page_passes_axe(new_page, catalog, people, live_server, who):
    page = visitor_page(new_page, people, who)
    queue, seen, checked, problems = ["/", *START_PAGES[who]], set(), [], []
    while queue and len(checked) < MAX_PAGES:
        path = queue.pop(0)
        if shape(path) in seen:
            continue
        seen.add(shape(path))
        response = page.goto(path)
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        checked.append(path)
        problems += check_everywhere(page, f"{who} {path}", VIEWPORTS)
        queue += same_origin_links(page, live_server.url, SKIP)
    print(f"{who}: {len(checked)} pages checked:", *checked, sep="\n  ")
    assert len(checked) >= 8, checked  # the crawl found the site, not just the start pages
    assert not problems, f"{len(problems)} accessibility violations:\n" + "\n".join(problems)


def test_pages_behind_forms_pass_axe(new_page, catalog, people):
    problems = []
    for name, (who, flow) in FORM_FLOWS.items():
        page = visitor_page(new_page, people, who)
        flow(page)
        problems += check_everywhere(page, f"{who} {name} ({page.url})", VIEWPORTS)
    assert not problems, f"{len(problems)} accessibility violations:\n" + "\n".join(problems)


def test_dark_theme_follows_the_system(page, catalog):
    page.goto("/r/team/app/api/")
    background = "() => getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(background) == "rgb(246, 247, 249)"
    page.emulate_media(color_scheme="dark")
    assert page.evaluate(background) == "rgb(15, 18, 22)"
