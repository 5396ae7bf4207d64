"""An LDAP user removed from the directory loses Berth everywhere, not only at their next password login
(accounts/recheck.py): their personal access token no longer logs in, and their open browser session ends at
the next page. Real slapd, a real gunicorn Berth with auth on (BERTH_DIRECTORY_RECHECK=0: asked every time);
a local user's token and session are not affected.
"""

import os

import pytest
import requests

from tests.e2e.auth_server import AuthBerth, Browser
from tests.e2e.ldap_server import USERS, LdapServer
from tests.e2e.servers import StartError

pytestmark = pytest.mark.e2e
SIGNED_OUT = "You were signed out: your directory account is no longer active."


@pytest.fixture(scope="module")
def recheck_berth(e2e_tmp):
    directory, server = LdapServer(e2e_tmp / "slapd-recheck"), None
    try:
        directory.start()  # its address is known once it runs
        env = {**directory.env(), "BERTH_DIRECTORY_RECHECK": "0"}
        server = AuthBerth(e2e_tmp / "recheck-gunicorn", os.environ.get("DATABASE_URL"), extra_env=env)
        server.start()
        server.create_user("lou", "lou-Local-Pa55")
    except (StartError, AssertionError) as error:
        if server is not None:
            server.stop()
        directory.stop()
        pytest.fail(str(error), pytrace=False)
    yield server, directory
    server.stop()
    directory.stop()


def token_request(berth, name, secret):
    return requests.get(
        f"{berth.url}/v2/token", params={"scope": f"repository:{name}/app:pull"}, auth=(name, secret), timeout=30
    )


def test_a_user_removed_from_the_directory_loses_tokens_and_sessions(recheck_berth):
    berth, directory = recheck_berth
    dora = Browser(berth, "dora", USERS["dora"])  # the first sign-in creates her account
    lou = Browser(berth, "lou", "lou-Local-Pa55")
    dora_token = berth.create_token("dora", "ci", "--token-scope", "dora/*", "--token-actions", "pull")
    lou_token = berth.create_token("lou", "ci", "--token-scope", "lou/*", "--token-actions", "pull")
    assert token_request(berth, "dora", dora_token).status_code == 200
    page = dora.get("/accounts/tokens/")
    assert page.status_code == 200 and page.url.endswith("/accounts/tokens/") and "ci" in page.text

    directory.delete_user("dora")

    refused = token_request(berth, "dora", dora_token)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["message"] == "the sign-in provider no longer confirms this account"
    direct = requests.get(f"{berth.url}/v2/", auth=("dora", dora_token), timeout=30)  # Basic straight to the API
    assert direct.status_code == 401
    page = dora.get("/accounts/tokens/")  # the open session: signed out, sent to the sign-in page, told why
    assert "/accounts/login/" in page.url and SIGNED_OUT in page.text
    assert "/accounts/login/" in dora.get("/accounts/tokens/").url  # and it stays so

    assert token_request(berth, "lou", lou_token).status_code == 200  # a local account is never asked
    assert lou.get("/accounts/tokens/").url.endswith("/accounts/tokens/")
