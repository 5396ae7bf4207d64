"""images.api.errors.json_response: the bytes DRF's JSONRenderer gave, without its rendering pass."""

import pytest
from rest_framework.renderers import JSONRenderer

from images.api.errors import envelope, json_response
from images.errors import DigestInvalid

CASES = {
    "tags-list": {"name": "team/app", "tags": ["1.0", "latest"]},
    "unicode": {"repositories": ["équipe/app", "団体/アプリ"]},
    "line-separators-in-detail": envelope(DigestInvalid(detail={"digest": "sha256:\u2028x\u2029"})),
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_same_bytes_as_drfs_renderer(data):
    response = json_response(data)
    assert response.content == JSONRenderer().render(data)
    assert response["Content-Type"] == "application/json"
