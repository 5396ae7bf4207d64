"""An organisation admin (not staff) manages the organisation in the catalog: adds a member, creates a team,
grants it a repository, creates a robot account and copies its token. The Tokens page and the organisation pages
fit a 390 px phone (no sideways scrolling, Revoke on screen), with screenshots in the test's tmp dir."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import AccessToken, Membership, Organisation, RepositoryGrant, Team
from accounts.services import access_tokens
from tests.browser.conftest import PHONE
from tests.support import content

OLIVIA = ("olivia", "olivia-secret-pass")
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(e.violatedDirective));
"""


@pytest.fixture
def acme(transactional_db, django_user_model):
    olivia = django_user_model.objects.create_user(OLIVIA[0], password=OLIVIA[1])
    django_user_model.objects.create_user("eve", password="eve-secret-pass")
    org = Organisation.objects.create(name="acme", description="Acme's images.")
    Membership.objects.create(organisation=org, user=olivia, role="admin")
    content.push_image("acme/web", "1.0", label="web", layers=1)
    return org


def sign_in_as(page, credentials, next_path):
    page.goto(f"/accounts/login/?next={next_path}")
    page.fill("#id_username", credentials[0])
    page.fill("#id_password", credentials[1])
    page.click("button[type=submit]")


def test_org_admin_adds_a_member_creates_a_team_grants_a_repository_and_a_robot(new_page, acme):
    page = new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in_as(page, OLIVIA, "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Organisations").click()
    page.get_by_role("link", name="acme", exact=True).click()
    expect(page.get_by_role("heading", name="acme", exact=True)).to_be_visible()

    add_member = page.locator("#add-member")
    add_member.get_by_label("User name").fill("eve")
    add_member.get_by_label("Role").select_option("write")
    add_member.get_by_role("button", name="Add member").click()
    expect(page.locator(".messages")).to_contain_text("Added eve to acme as write.")
    expect(page.locator('#members tr[data-member="eve"]')).to_be_visible()

    page.locator("#add-team").get_by_label("Team name").fill("devs")
    page.locator("#add-team").get_by_role("button", name="Create team").click()
    expect(page.locator(".messages")).to_contain_text("Created team devs.")
    page.locator('#teams [data-team="devs"]').get_by_role("link", name="devs").click()
    page.locator("#add-team-member").get_by_label("Member").select_option("eve")
    page.get_by_role("button", name="Add to team").click()
    expect(page.locator('#team-members tr[data-member="eve"]')).to_be_visible()
    page.get_by_role("link", name="acme", exact=True).click()

    grant = page.locator("#add-grant")
    grant.get_by_label("Repository").select_option("acme/web")
    grant.get_by_label("Team").select_option("devs")
    grant.get_by_label("Role").select_option("write")
    grant.get_by_role("button", name="Grant").click()
    expect(page.locator(".messages")).to_contain_text("team devs has write on acme/web.")
    assert RepositoryGrant.objects.get(repository__name="acme/web", team__name="devs").role == "write"

    robot = page.locator("#add-robot")
    robot.get_by_label("Name").fill("ci")
    robot.get_by_label("push").check()
    robot.get_by_role("button", name="Create robot account").click()
    expect(page.get_by_role("heading", name="Robot account acme+ci created")).to_be_visible()
    secret = page.locator("#new-token").inner_text()
    assert re.fullmatch(r"berth_[A-Za-z0-9_-]+", secret)
    command = page.locator("#login-command").inner_text()
    assert command.startswith(f"echo {secret} | docker login ") and command.endswith(
        " --username acme+ci --password-stdin"
    )
    copy = page.get_by_role("button", name="Copy login command")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == command
    page.get_by_role("button", name="Copy token").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    row = AccessToken.objects.get(organisation=acme, name="ci")
    assert row.login_name == "acme+ci" and row.action_set == {"pull", "push"}
    assert Membership.objects.get(organisation=acme, user__username="eve").role == "write"
    assert list(Team.objects.get(name="devs").members.values_list("username", flat=True)) == ["eve"]
    assert page.evaluate("window.__cspViolations") == []


def test_tokens_and_organisation_pages_fit_a_phone(new_page, acme, tmp_path):
    olivia = acme.memberships.get().user
    for name in ("laptop", "a-rather-long-token-name-for-ci-deployments"):
        access_tokens.create(olivia, name, "acme/*\nacme/web/long-repository-name-*", ["pull", "push"])
    access_tokens.create(olivia, "deploy-production-cluster", "acme/*", ["pull"], organisation=acme)
    Team.objects.create(organisation=acme, name="platform-engineering").members.add(olivia)
    page = new_page(PHONE)
    sign_in_as(page, OLIVIA, "/accounts/tokens/")
    pages = {
        "tokens": "/accounts/tokens/",
        "organisations": "/orgs/",
        "organisation": "/orgs/acme/",
        "team": "/orgs/acme/teams/platform-engineering/",
        "revoke": f"/accounts/tokens/{AccessToken.objects.get(name='laptop').pk}/revoke/",
    }
    for name, path in pages.items():
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(tmp_path / f"{name}-390.png"), full_page=True)
        assert width <= PHONE["width"], f"{path} is {width}px wide at {PHONE['width']}px"
        for button in page.locator("a.button.danger, button.button").all():
            box = button.bounding_box()
            if box is not None:  # hidden ones (closed <details>) have none
                assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (path, button.inner_text())
    page.goto("/accounts/tokens/")
    revoke = page.locator("tr", has_text="acme+deploy-production-cluster").get_by_role("link", name="Revoke…")
    expect(revoke).to_be_in_viewport()
    assert (tmp_path / "tokens-390.png").stat().st_size > 0
    page.get_by_label("Name").fill("phone-created-token-with-a-long-name")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#login-command")).to_be_visible()
    page.screenshot(path=str(tmp_path / "token-created-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.get_by_role("button", name="Copy login command")).to_be_in_viewport()
