"""Security headers: every UI page (catalog, account pages, admin, browsable API) carries nosniff,
X-Frame-Options DENY, a Referrer-Policy, Cross-Origin-Opener-Policy and a Content-Security-Policy
without inline script or style; registry API answers (v2, v1, errors included) carry nosniff."""

import pytest
from django.test import Client

from tests.security.conftest import as_user

# (page, who loads it); every one is CSP-strict except the browsable API (inline styles only).
UI_PAGES = [
    ("/", None),
    ("/?q=acme", "root"),
    ("/r/acme/pub/", "root"),
    ("/r/acme/pub/-/tags/v1/", "root"),
    ("/r/acme/pub/-/delete/", "root"),
    ("/storage/", "root"),
    ("/accounts/login/", None),
    ("/accounts/tokens/", "root"),
    ("/api/auth/login/", None),
    ("/admin/login/", None),
    ("/admin/", "root"),
    ("/admin/images/repository/", "root"),
    ("/admin/accounts/accesstoken/", "root"),
    ("/r/no/such/", None),
]
BROWSABLE_API = [("/api/", "root"), ("/api/repositories/", "root"), ("/api/search/?q=a", None)]
REGISTRY_CALLS = ["/v2/", "/v2/acme/pub/tags/list", "/v2/acme/priv/tags/list", "/v2/_catalog", "/v1/_ping"]


@pytest.fixture
def browse(world, django_user_model):
    """browse(url, who) -> the response to a browser (who: None, or "root", a superuser)."""
    root = django_user_model.objects.get(username="root")
    root.is_superuser = True
    root.save()

    def get(url, who):
        client = Client()
        if who:
            client.force_login(root)
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code in (200, 404), (url, response.status_code)
        return response

    return get


def csp_directives(response):
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def assert_ui_headers(response):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"] and directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"] and directives["object-src"] == ["'none'"]
    return directives


@pytest.mark.parametrize("url,who", UI_PAGES)
def test_ui_pages_carry_security_headers(browse, url, who):
    directives = assert_ui_headers(browse(url, who))
    assert directives["style-src"] == ["'self'"]


@pytest.mark.parametrize("url,who", BROWSABLE_API)
def test_browsable_api_allows_inline_styles_but_no_inline_script(browse, url, who):
    directives = assert_ui_headers(browse(url, who))
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    for tag in browse(url, who).content.decode().split("<script")[1:]:
        opening = tag.split(">", 1)[0]
        assert "src=" in opening or 'type="application/json"' in opening, (url, opening)


@pytest.mark.parametrize("url,who", UI_PAGES)
def test_pages_have_no_inline_script_or_style(browse, url, who):
    """What the policy forbids is not in the markup (the browser test checks the rendered pages too)."""
    html = browse(url, who).content.decode()
    assert " style=" not in html and "<style" not in html
    for tag in html.split("<script")[1:]:
        opening = tag.split(">", 1)[0]
        assert "src=" in opening or 'type="application/json"' in opening, opening


@pytest.mark.parametrize("url", REGISTRY_CALLS)
@pytest.mark.parametrize("who", [None, "eve"])
def test_registry_answers_carry_nosniff(world, api, url, who):
    response = api.get(url, **as_user(who))
    assert response["X-Content-Type-Options"] == "nosniff"


def test_blob_downloads_carry_nosniff(secret, api):
    response = api.get(f"/v2/acme/priv/blobs/{secret.blobs[0]}", **as_user("tom"))
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
