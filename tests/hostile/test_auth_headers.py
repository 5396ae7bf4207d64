"""Hostile credentials with registry auth on: every malformed Authorization header is a plain 401 in the
protocol's shape (or a 400 for a token request that can't be read), never a 500."""

import base64
import json

import pytest

from images.models import Repository
from images.services import repositories
from tests.hostile.checks import django_answer, v1_error_message, v2_error_code

pytestmark = [pytest.mark.django_db, pytest.mark.auth]


def basic(raw):
    return b"Basic " + base64.b64encode(raw)


HEADERS = {
    "basic-not-base64": b"Basic %%%%",
    "basic-no-colon": basic(b"alice"),
    "basic-nul-user": basic(b"ali\x00ce:secret"),
    "basic-nul-password": basic(b"alice:sec\x00ret"),
    "basic-bad-utf8": basic(b"\xff\xfe:\xff"),
    "basic-huge": basic(b"a" * 10_000 + b":" + b"b" * 10_000),
    "basic-empty": b"Basic ",
    "bearer-garbage": b"Bearer garbage",
    "bearer-three-dots": b"Bearer a.b.c",
    "bearer-alg-none": b"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.",
    "bearer-bad-utf8": b"Bearer \xff\xfe",
    "token-nul": b"Token \x00",
    "token-token-garbage": b'Token Token signature=\x00,repository="../../x",access=write',
    "unknown-scheme": b"Negotiate abc",
    "nul-only": b"\x00",
}


def _meta(value):
    return {"HTTP_AUTHORIZATION": value.decode("latin-1")}


@pytest.mark.parametrize("header", HEADERS.values(), ids=HEADERS.keys())
@pytest.mark.parametrize("path", ["/v2/", "/v2/team/app/tags/list", "/v2/team/app/blobs/uploads/"])
def test_v2_refuses_with_unauthorized(lenient, header, path):
    method = "POST" if path.endswith("uploads/") else "GET"
    status, headers, body = django_answer(lenient.generic(method, path, **_meta(header)))
    assert status == 401, body[:300]
    assert v2_error_code(status, headers, body) == "UNAUTHORIZED"
    assert headers["www-authenticate"].startswith("Bearer ")


@pytest.mark.parametrize("header", HEADERS.values(), ids=HEADERS.keys())
def test_v1_refuses_with_a_v1_error(lenient, header):
    status, headers, body = django_answer(lenient.get("/v1/users/", **_meta(header)))
    assert status == 401, body[:300]
    v1_error_message(status, headers, body)


@pytest.mark.parametrize("header", HEADERS.values(), ids=HEADERS.keys())
def test_token_endpoint_grants_nothing(lenient, header):
    """Unreadable credentials are a 401, or an anonymous token that grants no action at all."""
    response = lenient.get("/v2/token?service=berth&scope=repository:team/app:pull,push", **_meta(header))
    status, _, body = django_answer(response)
    assert status in (200, 401), body[:300]
    if status == 200:
        assert _claims(response.json()["token"])["access"] == []


def _claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.mark.parametrize("header", HEADERS.values(), ids=HEADERS.keys())
def test_management_api_refuses(lenient, header):
    repositories.get_or_create("team/app")
    response = lenient.patch(
        "/api/repositories/team/app/", b'{"description": "x"}', "application/json", **_meta(header)
    )
    status, _, body = django_answer(response)
    assert status in (401, 403), body[:300]
    assert Repository.objects.get(name="team/app").description == ""
