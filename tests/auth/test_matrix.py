"""The authorisation matrix, through the real v2 HTTP API.

Principals: anonymous, owner, team member, other user, robot token, admin;
actions: pull, push, delete, list; repositories: public and private; and the
two ways clients authenticate: Basic on every call, and a Bearer JWT from /v2/token.
"""

import pytest

from tests.auth.conftest import basic, fetch_token
from tests.v2.conftest import Registry

OK, UNAUTH, DENIED = 200, 401, 403
PRINCIPALS = ("anonymous", "owner", "team", "other", "robot", "admin")
WHO = {"owner": "olivia", "team": "tom", "other": "eve", "robot": "robot", "admin": "root"}
# (principal, visibility) -> {action: expected outcome}; list: whether _catalog shows it.
EXPECTED = {
    ("anonymous", "pub"): {"pull": OK, "push": UNAUTH, "delete": UNAUTH, "list": True},
    ("anonymous", "priv"): {"pull": UNAUTH, "push": UNAUTH, "delete": UNAUTH, "list": False},
    ("owner", "pub"): {"pull": OK, "push": OK, "delete": OK, "list": True},
    ("owner", "priv"): {"pull": OK, "push": OK, "delete": OK, "list": True},
    ("team", "pub"): {"pull": OK, "push": OK, "delete": DENIED, "list": True},
    ("team", "priv"): {"pull": OK, "push": OK, "delete": DENIED, "list": True},
    ("other", "pub"): {"pull": OK, "push": DENIED, "delete": DENIED, "list": True},
    ("other", "priv"): {"pull": DENIED, "push": DENIED, "delete": DENIED, "list": False},
    ("robot", "pub"): {"pull": OK, "push": OK, "delete": DENIED, "list": True},
    ("robot", "priv"): {"pull": OK, "push": OK, "delete": DENIED, "list": True},
    ("admin", "pub"): {"pull": OK, "push": OK, "delete": OK, "list": True},
    ("admin", "priv"): {"pull": OK, "push": OK, "delete": OK, "list": True},
}
CELLS = [(p, v, a) for (p, v), row in EXPECTED.items() for a in row]


def auth_header(client, world, principal, via, repository):
    if principal == "anonymous" and via == "basic":
        return {}
    creds = None if principal == "anonymous" else world.credentials[WHO[principal]]
    if via == "basic":
        return {"HTTP_AUTHORIZATION": basic(*creds)}
    scopes = [f"repository:{repository}:pull,push,delete", "registry:catalog:*"]
    token = fetch_token(client, scopes, creds)["token"]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def attempt(client, action, repository, headers):
    """(status of the attempt, or for list: whether the repository is listed)."""
    if action == "pull":
        return client.get(f"/v2/{repository}/manifests/v1", **headers).status_code
    if action == "delete":
        return client.delete(f"/v2/{repository}/manifests/v1", **headers).status_code
    if action == "list":
        response = client.get("/v2/_catalog", **headers)
        assert response.status_code == 200
        listed = repository in response.json()["repositories"]
        tags = client.get(f"/v2/{repository}/tags/list", **headers).status_code
        assert (tags == 200) == listed, (tags, listed)
        return listed
    # push: a blob (monolithic POST) and a manifest under a new tag
    registry = Registry(client)
    config, layer = b'{"architecture":"amd64","os":"linux","push":1}', b"pushed layer"
    status = None
    for data in (config, layer):
        response = client.post(
            f"/v2/{repository}/blobs/uploads/?digest={_sha256(data)}",
            data,
            content_type="application/octet-stream",
            **headers,
        )
        status = response.status_code
        if status != 201:
            return status
    manifest = registry.image_manifest(config=config, layers=(layer,))
    response = registry.put_manifest(
        repository, "pushed", manifest, "application/vnd.oci.image.manifest.v1+json", **headers
    )
    return 200 if response.status_code == 201 else response.status_code


def _sha256(data):
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("via", ["basic", "bearer"])
@pytest.mark.parametrize("principal,visibility,action", CELLS)
def test_matrix(world, api, via, principal, visibility, action):
    repository = f"acme/{visibility}"
    headers = auth_header(api, world, principal, via, repository)
    expected = EXPECTED[(principal, visibility)][action]
    outcome = attempt(api, action, repository, headers)
    if action == "delete" and expected == OK:
        expected = 202
    assert outcome == expected, f"{principal} {action} {repository} via {via}: {outcome} != {expected}"


def test_every_cell_is_specified():
    assert {p for p, _ in EXPECTED} == set(PRINCIPALS)
    assert all(set(row) == {"pull", "push", "delete", "list"} for row in EXPECTED.values())
