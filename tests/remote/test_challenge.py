"""WWW-Authenticate parsing as Docker Hub, ghcr.io, quay.io, distribution and Berth send it."""

import pytest

from remote.challenge import Challenge, parse, pick


def test_docker_hub_bearer():
    (found,) = parse(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/alpine:pull"'
    )
    assert found.scheme == "bearer"
    assert found.realm == "https://auth.docker.io/token"
    assert found.service == "registry.docker.io"
    assert found.scope == "repository:library/alpine:pull"


def test_scope_with_commas_and_error_stay_whole():
    (found,) = parse(
        'Bearer realm="http://127.0.0.1:5000/v2/token",service="berth",scope="repository:a/b:pull,push",error="insufficient_scope"'
    )
    assert found.scope == "repository:a/b:pull,push"
    assert found.error == "insufficient_scope"


def test_basic_of_distribution_htpasswd():
    assert parse('Basic realm="Registry Realm"') == [Challenge("basic", {"realm": "Registry Realm"})]


def test_scheme_and_names_are_case_insensitive_values_are_not():
    (found,) = parse('BEARER Realm="https://Auth.Example/Token", SERVICE=Registry')
    assert found.scheme == "bearer"
    assert found.realm == "https://Auth.Example/Token"
    assert found.service == "Registry"


def test_several_challenges_in_one_value_and_in_several_headers():
    one_value = parse('Bearer realm="https://a/token",service="s", Basic realm="r"')
    assert [c.scheme for c in one_value] == ["bearer", "basic"]
    assert one_value[1].realm == "r"
    headers = parse(['Basic realm="r"', 'Bearer realm="https://a/token"'])
    assert [c.scheme for c in headers] == ["basic", "bearer"]


def test_escaped_quote_in_value():
    (found,) = parse(r'Basic realm="say \"hi\", then go"')
    assert found.realm == 'say "hi", then go'


@pytest.mark.parametrize("value", ["", None, "   ", '="x"', ","])
def test_nothing_usable(value):
    assert parse(value) == []
    assert pick(parse(value)) is None


def test_pick_prefers_bearer_and_ignores_unknown_schemes():
    found = parse(["Negotiate", 'Basic realm="r"', 'Bearer realm="https://a/token"'])
    assert pick(found).scheme == "bearer"
    assert pick(parse(["Negotiate", 'Basic realm="r"'])).scheme == "basic"
    assert pick(parse("Negotiate")) is None
