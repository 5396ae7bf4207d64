"""An OpenID Connect user's registry tokens and browser session follow the provider (issue #29: a user removed
from a group loses the access at the next token refresh, a user disabled there gets no new token and is signed
out of the browser), with a real gunicorn Berth and a real provider (django-oauth-toolkit,
tests/support/oidc_provider) as separate processes. The sign-in is driven over HTTP the way a browser follows
it; the browser's own run is tests/browser/test_sso_oidc.py.
"""

import base64
import html
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.auth_server import berth_with_oidc

pytestmark = pytest.mark.e2e
USERS = {"olga": {"password": "olga-IdP-Pa55", "groups": ["developers"]}}


@pytest.fixture
def oidc_berth(e2e_tmp):
    # BERTH_DIRECTORY_RECHECK=0: the provider is asked at every token request and every page.
    with berth_with_oidc(e2e_tmp / "sso-oidc-recheck", USERS, BERTH_DIRECTORY_RECHECK="0") as pair:
        yield pair


def sign_in(berth, provider, name):
    """Berth's "Sign in with" link, the provider's sign-in form, back to Berth signed in."""
    session = requests.Session()
    form = session.get(f"{berth.url}/oidc/authenticate/", timeout=30)
    assert form.url.startswith(f"{provider.url}/login/"), form.url
    fields = {
        "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1),
        "next": html.unescape(re.search(r'name="next" value="([^"]*)"', form.text).group(1)),
        "username": name,
        "password": USERS[name]["password"],
    }
    landed = session.post(f"{provider.url}/login/", data=fields, timeout=30)
    assert landed.url == f"{berth.url}/", landed.url
    return session


def registry_token(berth, name, password):
    scope = "repository:acme/app:pull,push"
    return requests.get(f"{berth.url}/v2/token", params={"scope": scope}, auth=(name, password), timeout=30)


def granted(answer):
    payload = answer.json()["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return [action for entry in claims["access"] for action in entry["actions"]]


def test_an_oidc_users_tokens_follow_the_provider(oidc_berth):
    berth, provider = oidc_berth
    browser = sign_in(berth, provider, "olga")
    stored = berth.manage(
        "shell", "-c", "from accounts.models import DirectoryIdentity as D; print(D.objects.get().provider_grant)"
    ).splitlines()[-1]
    assert stored.startswith("gAAAA"), "the provider's refresh token is kept encrypted"
    token = berth.create_token("olga", "ci", "--token-scope", "acme/*", "--token-actions", "pull,push")

    first = registry_token(berth, "olga", token)  # the provider confirms olga, still in developers
    assert first.status_code == 200 and granted(first) == ["pull", "push"]
    # Parallel token requests (a CI job's pulls): each asks in turn with the refresh token the one before
    # was given (the provider rotates them and refuses a used one), none is refused.
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: registry_token(berth, "olga", token), range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    assert requests.get(f"{berth.url}/v2/", auth=("olga", token), timeout=30).status_code == 200  # Basic, direct

    provider.admin("groups", "olga")  # taken out of developers at the provider
    second = registry_token(berth, "olga", token)
    assert second.status_code == 200 and granted(second) == []  # no longer a member of acme
    members = "from accounts.models import Membership as M; print(M.objects.filter(user__username='olga').count())"
    assert berth.manage("shell", "-c", members).splitlines()[-1] == "0"

    assert browser.get(f"{berth.url}/accounts/tokens/", timeout=30).url == f"{berth.url}/accounts/tokens/"

    provider.admin("disable", "olga")  # switched off there: its grants revoked
    third = registry_token(berth, "olga", token)
    assert third.status_code == 401
    assert third.json()["errors"][0]["message"] == "the sign-in provider no longer confirms this account"
    direct = requests.get(f"{berth.url}/v2/", auth=("olga", token), timeout=30)  # Basic straight to the API
    assert direct.status_code == 401 and direct.headers["WWW-Authenticate"].startswith("Bearer realm=")
    assert direct.json()["errors"][0]["message"] == "the sign-in provider no longer confirms this account"
    page = browser.get(f"{berth.url}/accounts/tokens/", timeout=30)  # the browser session ends too
    assert "/accounts/login/" in page.url and "your directory account is no longer active" in page.text
