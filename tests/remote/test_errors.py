"""Upstream answers -> the client's errors (pure: status, headers, body)."""

import email.utils
import json

import pytest

from remote import errors
from remote.client import backoff, normalise_url

UP = "https://registry.example"


def body(code, message="m"):
    return json.dumps({"errors": [{"code": code, "message": message, "detail": {}}]}).encode()


def test_not_found_keeps_the_registry_code_and_names_the_upstream():
    error = errors.from_response(404, {}, body("MANIFEST_UNKNOWN", "manifest unknown"), UP, "GET manifest a/b:1")
    assert type(error) is errors.RemoteNotFound
    assert error.code == "MANIFEST_UNKNOWN"
    assert error.status == 404
    assert str(error).startswith(f"{UP}: GET manifest a/b:1 answered 404 MANIFEST_UNKNOWN")


def test_not_found_with_a_plain_text_body():
    error = errors.from_response(404, {}, b"404 page not found\n", UP, "GET referrers a@sha256:00")
    assert type(error) is errors.RemoteNotFound
    assert error.code is None


@pytest.mark.parametrize("status", [401, 403])
def test_denied(status):
    error = errors.from_response(status, {}, body("DENIED"), UP, "x")
    assert type(error) is errors.RemoteUnauthorized
    assert error.code == "DENIED"


def test_too_many_requests_passes_retry_after_on():
    error = errors.from_response(429, {"Retry-After": "17"}, body("TOOMANYREQUESTS"), UP, "x")
    assert type(error) is errors.RemoteTooManyRequests
    assert error.retry_after == 17
    assert errors.from_response(429, {}, b"", UP, "x").retry_after is None


def test_retry_after_as_http_date():
    when = email.utils.formatdate(1_000_060, usegmt=True)
    assert errors.retry_after_seconds(when, now=1_000_000) == 60
    assert errors.retry_after_seconds("soon") is None
    assert errors.retry_after_seconds("") is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_unavailable(status):
    assert type(errors.from_response(status, {}, b"<html>", UP, "x")) is errors.RemoteUnavailable


@pytest.mark.parametrize("status", [400, 405, 409, 413])
def test_other_client_errors_are_rejections(status):
    error = errors.from_response(status, {}, body("UNSUPPORTED", "The operation is unsupported."), UP, "PUT x")
    assert type(error) is errors.RemoteRejected
    assert "UNSUPPORTED: The operation is unsupported." in str(error)


def test_garbage_bodies_do_not_break_the_mapping():
    for garbage in (b"\xff\xfe", b"[]", b'{"errors": []}', b'{"errors": "x"}', b"null"):
        error = errors.from_response(500, {}, garbage, UP, "x")
        assert type(error) is errors.RemoteUnavailable and error.code is None


def test_digest_mismatch_is_an_invalid_answer():
    assert issubclass(errors.DigestMismatch, errors.RemoteInvalid)
    assert issubclass(errors.RemoteInvalid, errors.RemoteError)


def test_upstream_url_normalisation():
    assert normalise_url("registry-1.docker.io") == "https://registry-1.docker.io"
    assert normalise_url("http://127.0.0.1:5000/v2/") == "http://127.0.0.1:5000"
    assert normalise_url(" https://ghcr.io/ ") == "https://ghcr.io"


def test_backoff_grows_and_is_capped():
    assert backoff(0, rand=lambda: 1.0) == 0.25
    assert backoff(3, rand=lambda: 1.0) == 2.0
    assert backoff(20, rand=lambda: 1.0) == 8.0
    assert backoff(2, rand=lambda: 0.0) == 0.5
