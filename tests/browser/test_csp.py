"""The Content-Security-Policy holds in a real Chromium: no violation on the main pages (catalog,
sign-in, account tokens, admin, browsable API), and the scripted interactions still work under it."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

# Records every violation the page reports (an init script runs before the page's own, CSP or not).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""
ANONYMOUS_PAGES = [
    "/",
    "/?q=alpine&sort=size",
    "/r/library/alpine/",
    "/r/library/alpine/-/tags/latest/",
    "/r/team/multi/-/tags/latest/",
    "/storage/",
    "/accounts/login/",
    "/r/no/such/",
]
SIGNED_IN_PAGES = [
    "/",
    "/r/team/app/api/",
    "/r/team/app/api/-/delete/",
    "/r/team/app/api/-/untag/?tag=1.0&tag=1.1",
    "/accounts/tokens/",
    "/admin/",
    "/admin/images/repository/",
    "/admin/images/tag/",
    "/admin/auth/user/1/change/",
    "/admin/accounts/accesstoken/",
    "/admin/auth/user/add/",
    "/api/",
    "/api/repositories/",
    "/api/tags/?page_size=2",
]


@pytest.fixture
def watched(page):
    """The page, with CSP violations collected from the console and the DOM event."""
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)

    def violations():
        reported = page.evaluate("window.__cspViolations || []")
        return reported + [text for text in console if "Content Security Policy" in text]

    page.violations = violations
    return page


def visit(page, path):
    response = page.goto(path)
    assert response.status in (200, 404), (path, response.status)
    assert "Content-Security-Policy" in {name.title() for name in response.headers}
    page.wait_for_load_state("load")
    assert page.violations() == [], path


def test_no_violation_for_visitors(watched, catalog):
    for path in ANONYMOUS_PAGES:
        visit(watched, path)


def test_no_violation_when_signed_in(watched, catalog, admin_user_ui):
    sign_in(watched)
    expect(watched.get_by_role("button", name="Sign out")).to_be_visible()
    for path in SIGNED_IN_PAGES:
        visit(watched, path)
    watched.get_by_role("button", name="Sign out").click()  # the browsable API's own, without inline script
    visit(watched, "/api/")
    expect(watched.get_by_role("link", name="Sign in")).to_be_visible()


def test_scripts_still_work_under_the_policy(watched, catalog, admin_user_ui):
    visit(watched, "/r/library/alpine/")
    button = watched.get_by_role("button", name="Copy pull command")
    button.click()
    expect(button).to_have_text("Copied")
    assert watched.evaluate("navigator.clipboard.readText()").startswith("docker pull ")
    visit(watched, "/storage/")  # bar widths are set by berth.js from data attributes
    widths = watched.locator(".bar span").evaluate_all("spans => spans.map(s => s.getBoundingClientRect().width)")
    assert widths and max(widths) > 100
    sign_in(watched, "/r/team/multi/-/delete/")
    confirm = watched.get_by_role("button", name="Delete repository team/multi")
    expect(confirm).to_be_disabled()
    watched.get_by_label("Type team/multi to confirm").fill("team/multi")
    expect(confirm).to_be_enabled()
    assert watched.violations() == []
