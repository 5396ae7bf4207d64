"""A manifest answer is read up to the cap (4 MiB, Berth's own limit), never further."""

import io

import pytest
import requests
import urllib3

from remote import RemoteRegistry, errors
from remote.client import MAX_MANIFEST_BYTES


def answer(body: bytes, headers=None):
    response = requests.Response()
    response.status_code = 200
    response.raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers=headers or {}, preload_content=False)
    response.headers = requests.structures.CaseInsensitiveDict(headers or {})
    return response


def test_oversized_payload_is_invalid_without_reading_past_the_cap():
    registry = RemoteRegistry("http://127.0.0.1:9")
    body = io.BytesIO(b"x" * (MAX_MANIFEST_BYTES + 100))
    response = requests.Response()
    response.raw = urllib3.HTTPResponse(body=body, preload_content=False)
    with pytest.raises(errors.RemoteInvalid, match="exceeds"):
        registry._read_capped(response, "GET manifest a:1")
    assert body.tell() == MAX_MANIFEST_BYTES + 1


def test_announced_oversized_payload_is_refused_before_reading():
    registry = RemoteRegistry("http://127.0.0.1:9")
    response = answer(b"{}", {"Content-Length": str(MAX_MANIFEST_BYTES + 1)})
    with pytest.raises(errors.RemoteInvalid) as refused:
        registry._read_capped(response, "GET manifest a:1")
    assert "http://127.0.0.1:9" in str(refused.value)


def test_short_payload_is_a_truncation():
    registry = RemoteRegistry("http://127.0.0.1:9")
    with pytest.raises(errors.RemoteUnavailable, match="IncompleteRead|truncated"):
        registry._read_capped(answer(b"{}", {"Content-Length": "10"}), "GET manifest a:1")
    assert registry._read_capped(answer(b"{}", {"Content-Length": "2"}), "GET manifest a:1") == b"{}"
