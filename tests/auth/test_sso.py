"""Single sign-on in process, against a real slapd (tests/e2e/ldap_server.py): the sign-in page when the
directory is down, manage.py check and /readyz, group mappings that never touch manual memberships, the
refresh grant's directory look-up, BERTH_LOCAL_LOGIN=false, and the id token checks of the OIDC backend."""

import time
from datetime import timedelta

import jwt
import ldap
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import SuspiciousOperation
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_auth_ldap.config import GroupOfNamesType, LDAPSearch

from accounts import checks, credentials, oidc, recheck, tokens
from accounts.models import (
    SOURCE_OIDC,
    DirectoryGroupMapping,
    DirectoryIdentity,
    DirectoryManagedAccess,
    Membership,
    Organisation,
    Team,
)
from accounts.services import directory
from tests.auth.conftest import basic
from tests.e2e.ldap_server import GROUPS, PEOPLE, ROOT_DN, ROOT_PASSWORD, USERS, LdapServer, group_dn
from tests.e2e.servers import free_port

LDAP_BACKENDS = ["accounts.backends.RateLimitedModelBackend", "accounts.ldap_directory.DirectoryBackend"]


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    server = LdapServer(tmp_path_factory.mktemp("slapd"))
    try:
        server.start()
    except Exception as error:
        server.stop()
        pytest.fail(f"slapd did not start: {error}", pytrace=False)
    yield server
    server.stop()


def use_ldap(settings, uri, password=ROOT_PASSWORD):
    settings.AUTH_LDAP_SERVER_URI = uri
    settings.AUTH_LDAP_BIND_DN, settings.AUTH_LDAP_BIND_PASSWORD = ROOT_DN, password
    settings.AUTH_LDAP_CONNECTION_OPTIONS = {ldap.OPT_NETWORK_TIMEOUT: 2, ldap.OPT_TIMEOUT: 2}
    settings.AUTH_LDAP_USER_SEARCH = LDAPSearch(PEOPLE, ldap.SCOPE_SUBTREE, "(uid=%(user)s)")
    settings.AUTH_LDAP_GROUP_SEARCH = LDAPSearch(GROUPS, ldap.SCOPE_SUBTREE, "(objectClass=*)")
    settings.AUTH_LDAP_GROUP_TYPE = GroupOfNamesType()
    settings.AUTH_LDAP_USER_ATTR_MAP = {"email": "mail"}
    settings.AUTHENTICATION_BACKENDS = LDAP_BACKENDS


@pytest.fixture
def acme(db):
    org = Organisation.objects.create(name="acme")
    team = Team.objects.create(organisation=org, name="devs")
    DirectoryGroupMapping.objects.create(
        source="ldap", group=group_dn("developers"), organisation=org, role="write", team=team
    )
    return org, team


def test_directory_sign_in_creates_account_and_follows_groups(slapd, settings, acme):
    use_ldap(settings, slapd.uri)
    org, team = acme
    user = credentials.check_login(None, "dave", USERS["dave"])
    assert user is not None and user.email == "dave@berth.test" and not user.has_usable_password()
    assert Membership.objects.get(organisation=org, user=user).role == "write"
    assert team.members.filter(pk=user.pk).exists()
    assert credentials.check_login(None, "dave", "wrong") is None


def test_directory_password_on_the_sign_in_page_and_v1_users(slapd, settings, db, caplog):
    use_ldap(settings, slapd.uri)
    client = Client()
    with caplog.at_level("INFO", logger="berth.auth"):
        signed_in = client.post("/accounts/login/", {"username": "erin", "password": USERS["erin"]})
    assert signed_in.status_code == 302 and client.get("/accounts/tokens/").status_code == 200
    assert any("sign-in: erin (DirectoryBackend)" in record.getMessage() for record in caplog.records)
    v1 = Client().get("/v1/users/", HTTP_AUTHORIZATION=basic("erin", USERS["erin"]))
    assert v1.status_code == 200, v1.content
    assert Client().get("/v1/users/", HTTP_AUTHORIZATION=basic("erin", "wrong")).status_code == 401


def test_group_sync_leaves_manual_memberships_alone(db, django_user_model, acme):
    org, team = acme
    other = Organisation.objects.create(name="other")
    user = django_user_model.objects.create_user("mia")
    Membership.objects.create(organisation=other, user=user, role="admin")  # made by hand
    directory.sync_groups(user, "ldap", [group_dn("developers").upper()])  # DNs compare case-insensitively
    assert Membership.objects.get(organisation=org, user=user).role == "write"
    directory.sync_groups(user, "ldap", [])
    assert not Membership.objects.filter(organisation=org, user=user).exists()
    assert not team.members.filter(pk=user.pk).exists()
    assert Membership.objects.get(organisation=other, user=user).role == "admin"
    assert not DirectoryManagedAccess.objects.filter(user=user).exists()
    # A manual membership in a mapped organisation is not taken over (nor removed) either.
    Membership.objects.create(organisation=org, user=user, role="read")
    directory.sync_groups(user, "ldap", [group_dn("developers")])
    directory.sync_groups(user, "ldap", [])
    assert Membership.objects.get(organisation=org, user=user).role == "read"


def test_refresh_grant_looks_the_ldap_user_up_again(slapd, settings, acme):
    use_ldap(settings, slapd.uri)
    user = credentials.check_login(None, "dora", USERS["dora"])
    refresh = tokens.issue_refresh_token(user)
    client = Client()
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "service": tokens.service()}
    assert client.post("/v2/token", form).status_code == 200
    settings.AUTH_LDAP_SERVER_URI = f"ldap://127.0.0.1:{free_port()}"  # directory down: fail closed
    assert client.post("/v2/token", form).status_code == 401


def test_sign_in_page_says_the_directory_is_unreachable_and_local_login_works(settings, db, django_user_model):
    use_ldap(settings, f"ldap://127.0.0.1:{free_port()}")
    django_user_model.objects.create_user("lena", password="lena-local-pass")
    client = Client()
    page = client.post("/accounts/login/", {"username": "dave", "password": USERS["dave"]})
    assert page.status_code == 200
    assert "The directory can't be reached right now" in page.content.decode()
    assert "Local accounts still can" in page.content.decode()
    signed_in = client.post("/accounts/login/", {"username": "lena", "password": "lena-local-pass"})
    assert signed_in.status_code == 302


def test_check_and_readyz_report_bad_directory_configuration(slapd, settings, db, capsys):
    use_ldap(settings, slapd.uri, password="not-the-bind-password")
    warnings = checks.directory_reachable()
    assert len(warnings) == 1 and "Invalid credentials" in warnings[0].msg and warnings[0].id == "berth.W101"
    call_command("check")
    assert "Invalid credentials" in capsys.readouterr().err
    ready = Client().get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    assert ready.json()["ldap"].startswith("error:") and "not-the-bind-password" not in ready.content.decode()
    settings.AUTH_LDAP_BIND_PASSWORD = ROOT_PASSWORD
    assert checks.directory_reachable() == [] and Client().get("/readyz").json()["ldap"] == "ok"


def test_unreachable_oidc_issuer_is_reported_and_the_button_says_so(settings, db):
    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}/o"
    settings.OIDC_PROVIDER_NAME, settings.OIDC_TIMEOUT = "Corp SSO", 2
    warnings = checks.directory_reachable()
    assert len(warnings) == 1 and "openid-configuration" in warnings[0].msg
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and "Sign in with Corp SSO" in page.content.decode()
    answer = client.get("/oidc/authenticate/", follow=True)
    assert answer.status_code == 200 and "Corp SSO can&#x27;t be reached right now" in answer.content.decode()


def test_local_login_off_leaves_only_superusers(settings, db, django_user_model):
    settings.BERTH_LOCAL_LOGIN = False
    django_user_model.objects.create_user("lena", password="lena-local-pass")
    django_user_model.objects.create_superuser("root", password="root-local-pass")
    assert credentials.check_login(None, "lena", "lena-local-pass") is None
    assert credentials.check_login(None, "root", "root-local-pass") is not None


class TestIdTokenChecks:
    KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ISSUER = "http://127.0.0.1:9/o"

    def backend(self, settings):
        settings.OIDC_ISSUER, settings.OIDC_RP_CLIENT_ID = self.ISSUER, "berth"
        oidc._discovery.update(at=time.monotonic(), document={"issuer": self.ISSUER})
        backend = oidc.OIDCBackend()
        backend.OIDC_RP_SIGN_ALGO, backend.OIDC_RP_CLIENT_ID = "RS256", "berth"
        return backend

    def token(self, **changes):
        now = int(time.time())
        claims = {"iss": self.ISSUER, "aud": "berth", "sub": "42", "iat": now, "exp": now + 60, **changes}
        return jwt.encode(claims, self.KEY, algorithm="RS256")

    def test_a_good_token_passes_and_bad_ones_are_refused(self, settings):
        backend, key = self.backend(settings), self.KEY.public_key()
        try:
            assert backend._verify_jws(self.token(), key)["sub"] == "42"
            for bad in ({"aud": "someone-else"}, {"iss": "http://evil/o"}, {"exp": int(time.time()) - 120}):
                with pytest.raises(SuspiciousOperation):
                    backend._verify_jws(self.token(**bad), key)
            other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
            with pytest.raises(SuspiciousOperation):
                backend._verify_jws(self.token(), other)  # signed by another key
            with pytest.raises(SuspiciousOperation):
                backend._verify_jws(
                    jwt.encode({"sub": "42"}, "a-shared-secret-of-32-bytes-or-more", algorithm="HS256"), key
                )
        finally:
            oidc._discovery.update(at=0.0, document=None)


def test_group_mappings_in_the_api_and_the_command_are_for_staff(db, django_user_model, acme, capsys):
    from rest_framework.test import APIClient

    org, _ = acme
    staff = django_user_model.objects.create_superuser("root", password="root-local-pass")
    admin = django_user_model.objects.create_user("ada")
    Membership.objects.create(organisation=org, user=admin, role="admin")
    url = "/api/organisations/acme/group-mappings/"
    client = APIClient()
    client.force_authenticate(admin)
    assert client.get(url).status_code == 403
    assert client.post(url, {"source": "oidc", "group": "ops", "role": "read"}).status_code == 403
    client.force_authenticate(staff)
    created = client.post(url, {"source": "oidc", "group": "ops", "role": "admin", "team": "devs"}, format="json")
    assert created.status_code == 201 and created.json()["team"] == "devs", created.content
    bad = client.post(url, {"source": "oidc", "group": "ops", "role": "read", "team": "nope"}, format="json")
    assert bad.status_code == 404
    groups = sorted(row["group"] for row in client.get(url).json()["results"])
    assert groups == [group_dn("developers"), "ops"]
    assert client.delete(f"{url}{created.json()['id']}/").status_code == 204
    call_command("berth_sso", "--source", "oidc", "--map", "ops", "--org", "acme", "--role", "read")
    call_command("berth_sso")
    assert "OpenID Connect ops → acme (read)" in capsys.readouterr().out
    call_command("berth_sso", "--source", "oidc", "--unmap", "ops", "--org", "acme")
    assert not DirectoryGroupMapping.objects.filter(group="ops").exists()


def test_the_provider_is_asked_again_at_most_every_recheck_interval(settings, db, django_user_model):
    """accounts/oidc.py still_allowed: within BERTH_DIRECTORY_RECHECK the last answer holds; past it, a provider that
    can't be reached refuses (fail closed, as LDAP); a user the provider gave no refresh token is not asked."""
    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}/o"  # nothing listens there
    settings.OIDC_PROVIDER_NAME, settings.OIDC_TIMEOUT, settings.DIRECTORY_RECHECK = "Corp SSO", 2, 60
    olga = django_user_model.objects.create_user("olga")
    assert directory.record_identity(olga, SOURCE_OIDC, f"{settings.OIDC_ISSUER} 42")
    assert oidc.still_allowed(olga)  # no refresh token from the provider: nothing to ask with
    directory.keep_provider_grant(olga, "a-refresh-token")
    assert oidc.still_allowed(olga)  # confirmed a moment ago
    DirectoryIdentity.objects.filter(user=olga).update(checked_at=timezone.now() - timedelta(seconds=61))
    assert not oidc.still_allowed(olga)
    local = django_user_model.objects.create_user("lena")
    assert oidc.still_allowed(local)  # not a directory user


def test_a_directory_user_is_asked_again_at_most_every_recheck_interval(slapd, settings, db, django_user_model):
    """accounts/recheck.py: a sign-in is the directory's confirmation; once BERTH_DIRECTORY_RECHECK has passed, a
    directory that can't be asked is a no (fail closed) and the browser session ends; local users are not asked."""
    use_ldap(settings, slapd.uri)
    settings.DIRECTORY_RECHECK = 60
    client = Client()
    assert client.post("/accounts/login/", {"username": "erin", "password": USERS["erin"]}).status_code == 302
    erin = django_user_model.objects.get(username="erin")
    settings.AUTH_LDAP_SERVER_URI = f"ldap://127.0.0.1:{free_port()}"  # the directory goes away
    assert recheck.confirmed(erin) and client.get("/accounts/tokens/").status_code == 200  # confirmed at sign-in
    DirectoryIdentity.objects.filter(user=erin).update(checked_at=timezone.now() - timedelta(seconds=61))
    assert not recheck.confirmed(erin)
    assert client.get("/accounts/tokens/").status_code == 200  # this session was confirmed less than 60 s ago
    settings.DIRECTORY_RECHECK = 0
    signed_out = client.get("/accounts/tokens/", follow=True)
    assert signed_out.redirect_chain[0][0].startswith("/accounts/login/")
    assert "your directory account is no longer active" in signed_out.content.decode()
    local = django_user_model.objects.create_user("lena")
    assert recheck.confirmed(local)
