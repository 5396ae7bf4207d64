"""OpenID Connect sign-in in Chromium: a real gunicorn Berth and a real provider (django-oauth-toolkit,
tests/support/oidc_provider) as separate processes on 127.0.0.1.

The visitor clicks "Sign in with Test IdP" on Berth's sign-in page, signs in on the provider's own page,
and lands in the catalog signed in; the provider's `groups` claim made them a member of the mapped
organisation; the Tokens page tells them to use an access token for docker login.
"""

import pytest

from tests.e2e.auth_server import berth_with_oidc

USERS = {"olga": {"password": "olga-IdP-Pa55", "groups": ["developers"]}}


@pytest.fixture(scope="module")
def oidc_berth(tmp_path_factory):
    with berth_with_oidc(tmp_path_factory.mktemp("sso-oidc"), USERS) as pair:
        yield pair


def sign_in(browser, berth, provider):
    """A fresh browser context signed in to Berth through the provider's page, and its page."""
    context = browser.new_context(base_url=berth.url)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.wait_for_url(f"{provider.url}/login/**")  # the provider's own sign-in page
    page.get_by_label("IdP user name").fill("olga")
    page.get_by_label("IdP password").fill(USERS["olga"]["password"])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{berth.url}/")
    return context, page


def test_sign_in_through_the_provider_lands_in_the_catalog(browser, oidc_berth):
    berth, provider = oidc_berth
    context, page = sign_in(browser, berth, provider)
    try:
        assert page.locator(".whoami .username").inner_text() == "olga"  # the header names who is signed in
        assert page.get_by_role("button", name="Sign out").is_visible()

        page.goto("/accounts/tokens/")
        hint = page.locator("#oidc-token-hint")
        assert "create a personal token" in hint.inner_text() and "docker login" in hint.inner_text()

        response = page.goto("/orgs/acme/")  # the groups claim's mapping made olga a member
        assert response.status == 200 and "olga" in page.content()
    finally:
        context.close()


def test_wrong_provider_password_stays_on_the_provider(browser, oidc_berth):
    berth, provider = oidc_berth
    context = browser.new_context(base_url=berth.url)
    page = context.new_page()
    try:
        page.goto("/oidc/authenticate/")
        page.wait_for_url(f"{provider.url}/login/**")
        page.get_by_label("IdP user name").fill("olga")
        page.get_by_label("IdP password").fill("not-her-password")
        page.get_by_role("button", name="Continue").click()
        assert "Wrong user name or password" in page.content()
        page.goto(f"{berth.url}/accounts/tokens/")
        assert page.url.startswith(f"{berth.url}/accounts/login/")  # not signed in to Berth
    finally:
        context.close()


def test_leaving_the_group_at_the_provider_ends_the_membership_at_next_sign_in(browser, oidc_berth):
    berth, provider = oidc_berth
    context, page = sign_in(browser, berth, provider)
    context.close()
    assert "olga" in berth.manage("berth_org", "acme")
    provider.configure(f"{berth.url}/oidc/callback/", {"olga": {**USERS["olga"], "groups": []}})
    try:
        context, page = sign_in(browser, berth, provider)
        assert page.goto("/orgs/acme/").status == 404
        assert "olga" not in berth.manage("berth_org", "acme")
    finally:
        context.close()
        provider.configure(f"{berth.url}/oidc/callback/", USERS)
