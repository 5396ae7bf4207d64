"""What a client checks in an error answer, for Django test-client and raw-socket answers alike."""

import json


def v2_error_code(status, headers, body, method="GET"):
    """The one error code of a v2 answer (None for HEAD), after checking the envelope's shape."""
    assert 400 <= status < 500, (status, body[:300])
    if method == "HEAD":
        return None
    assert headers.get("content-type", "").startswith("application/json"), headers
    errors = json.loads(body)["errors"]
    assert len(errors) == 1 and set(errors[0]) == {"code", "message", "detail"}, errors
    return errors[0]["code"]


def v1_error_message(status, headers, body):
    """The message of a v1 answer: `{"error": "..."}` and nothing else."""
    assert 400 <= status < 500, (status, body[:300])
    assert headers.get("content-type", "").startswith("application/json"), headers
    payload = json.loads(body)
    assert list(payload) == ["error"] and isinstance(payload["error"], str), payload
    return payload["error"]


def django_answer(response):
    """(status, lower-cased headers, body) of a Django test-client response."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, {k.lower(): v for k, v in response.headers.items()}, body
