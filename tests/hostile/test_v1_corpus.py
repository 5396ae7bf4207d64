"""Hostile requests to every v1 route: the v1 error shape ({"error": message}) and status, never a 500.

tests/v1/test_v1_errors.py pins the protocol's ordinary errors; this corpus adds traversal,
bad ids and names, bad UTF-8, wrong JSON types, oversized bodies and garbage headers.
"""

import json

import pytest

from images.digests import of_bytes
from images.models import Tag, V1Image
from images.v1_format import TAG_MESSAGE
from tests.hostile.cases import HEX, MIB, OCTETS, Case, send
from tests.hostile.checks import django_answer, v1_error_message
from tests.v1.conftest import make_image

pytestmark = pytest.mark.django_db

JSON = {"Content-Type": "application/json"}
NEW_ID = "c" * 64
BAD_IDS = {"dotdot": "..", "encoded-dotdot": "%2e%2e", "nul": "c" * 63 + "%00", "upper": "C" * 64, "short": "c" * 63}
BAD_IDS |= {"backslash": "..%5c..%5cetc", "bad-utf8": "%ff" * 32, "sha256-prefixed": f"sha256:{HEX}", "long": "c" * 65}
BAD_NAMES = {"dotdot": "..", "traversal": "../../etc", "absolute": "/etc/passwd", "encoded": "%2e%2e%2f%2e%2e%2fetc"}
BAD_NAMES |= {"nul": "foo%00bar", "backslash": "foo%5c..%5cbar", "bad-utf8": "foo%ff", "upper": "Foo/Bar"}
INVALID_JSON, INVALID_DATA, NOT_FOUND = "Invalid JSON", "Invalid data", "Image not found"


def image_json(**fields):
    return json.dumps({"id": NEW_ID, **fields}).encode()


def id_cases():
    for label, image_id in BAD_IDS.items():
        for suffix, method in (("json", "GET"), ("json", "PUT"), ("layer", "GET"), ("layer", "PUT")):
            yield Case(f"{method.lower()}-{suffix}-{label}", method, f"/v1/images/{image_id}/{suffix}", 404,
                       "Invalid image ID", image_json() if method == "PUT" else b"", JSON)  # fmt: skip
        yield Case(f"ancestry-{label}", "GET", f"/v1/images/{image_id}/ancestry", 404, "Invalid image ID")
        yield Case(f"checksum-{label}", "PUT", f"/v1/images/{image_id}/checksum", 404, "Invalid image ID",
                   headers={"X-Docker-Checksum-Payload": f"sha256:{HEX}"})  # fmt: skip


def name_cases():
    for label, name in BAD_NAMES.items():
        base = f"/v1/repositories/{name}"
        yield Case(f"repo-put-{label}", "PUT", f"{base}/", 400, "Invalid repository name", b"[]", JSON)
        yield Case(f"repo-put-images-{label}", "PUT", f"{base}/images", 400, "Invalid repository name", b"[]", JSON)
        yield Case(f"repo-put-tag-{label}", "PUT", f"{base}/tags/latest", 400, "Invalid repository name",
                   json.dumps("{image}").encode(), JSON)  # fmt: skip
        for suffix in ("tags", "tags/latest", "images", "properties"):  # (tag metadata has defaults for anything)
            yield Case(f"repo-get-{suffix}-{label}", "GET", f"{base}/{suffix}", 404, None)
        yield Case(f"repo-delete-{label}", "DELETE", f"{base}/", 404, None)


def put_json(label, path, status, message, body):
    return Case(label, "PUT", path, status, message, body, JSON)


IMAGE_PATH, INDEX, IMAGES = (
    f"/v1/images/{NEW_ID}/json",
    "/v1/repositories/team/app/",
    "/v1/repositories/team/app/images",
)
NEXT_TAG, PROPERTIES = "/v1/repositories/library/v1app/tags/next", "/v1/repositories/library/v1app/properties"
DEEP = b'{"id": "' + NEW_ID.encode() + b'", "config": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
BAD_ID, NO_PARENT, TOO_LARGE = (
    "JSON data contains invalid id",
    "Image depends on a non existing parent",
    "request body too large",
)

IMAGE_JSON = [
    put_json("put-json-null", IMAGE_PATH, 400, INVALID_JSON, b"null"),
    put_json("put-json-string", IMAGE_PATH, 400, INVALID_JSON, json.dumps(NEW_ID).encode()),
    put_json("put-json-number", IMAGE_PATH, 400, INVALID_JSON, b"7"),
    put_json("put-json-bad-utf8-body", IMAGE_PATH, 400, INVALID_JSON, image_json().replace(b"}", b', "x": "\xff"}')),
    put_json("put-json-utf16", IMAGE_PATH, 400, INVALID_JSON, image_json().decode().encode("utf-16")),
    put_json("put-json-nan", IMAGE_PATH, 400, INVALID_JSON, image_json().replace(b"}", b', "Size": NaN}')),
    put_json("put-json-truncated", IMAGE_PATH, 400, INVALID_JSON, image_json()[:-1]),
    put_json("put-json-deep", IMAGE_PATH, 400, INVALID_JSON, DEEP),
    put_json("put-json-id-list", IMAGE_PATH, 400, BAD_ID, json.dumps({"id": [NEW_ID]}).encode()),
    put_json("put-json-id-upper", IMAGE_PATH, 400, BAD_ID, json.dumps({"id": NEW_ID.upper()}).encode()),
    put_json("put-json-parent-number", IMAGE_PATH, 400, NO_PARENT, image_json(parent=7)),
    put_json("put-json-parent-object", IMAGE_PATH, 400, NO_PARENT, image_json(parent={"id": NEW_ID})),
    put_json("put-json-parent-traversal", IMAGE_PATH, 400, NO_PARENT, image_json(parent="../../etc/passwd")),
    put_json("put-json-parent-itself", IMAGE_PATH, 400, NO_PARENT, image_json(parent=NEW_ID)),
    put_json("put-json-over-limit", IMAGE_PATH, 413, TOO_LARGE, image_json(comment="x" * (4 * MIB))),
]

BODIES = [
    put_json("put-index-not-json", INDEX, 400, "Error Decoding JSON", b"{nope"),
    put_json("put-index-bad-utf8", INDEX, 400, "Error Decoding JSON", b'["\xff"]'),
    put_json("put-index-object", IMAGES, 400, INVALID_DATA, b"{}"),
    put_json("put-index-bad-id", IMAGES, 400, INVALID_DATA, json.dumps([{"id": "../../etc/passwd"}]).encode()),
    put_json(
        "put-index-checksum-object",
        IMAGES,
        400,
        INVALID_DATA,
        json.dumps([{"id": NEW_ID, "checksum": {"a": 1}}]).encode(),
    ),
    put_json(
        "put-index-over-limit", INDEX, 413, TOO_LARGE, json.dumps([{"id": NEW_ID, "checksum": "x" * 4 * MIB}]).encode()
    ),
    Case("put-tag-not-json", "PUT", NEXT_TAG, 400, INVALID_DATA, b"{image}"),
    put_json("put-tag-number", NEXT_TAG, 400, INVALID_DATA, b"7"),
    put_json("put-tag-list", NEXT_TAG, 400, INVALID_DATA, b'["{image}"]'),
    put_json("put-tag-bad-utf8", NEXT_TAG, 400, INVALID_DATA, b'"\xff"'),
    put_json("put-tag-traversal-id", NEXT_TAG, 404, NOT_FOUND, b'"../../../etc/passwd"'),
    put_json("put-tag-unknown-id", NEXT_TAG, 404, NOT_FOUND, json.dumps(NEW_ID).encode()),
    put_json("put-properties-not-json", PROPERTIES, 400, INVALID_DATA, b"{"),
    put_json("put-properties-wrong-type", PROPERTIES, 400, INVALID_DATA, b'{"access": ["public"]}'),
    Case("post-users-not-json", "POST", "/v1/users/", 400, "Error Decoding JSON", b"\xff", JSON),
]

TAG_NAMES = {"dotdot": "..", "dash": "-x", "nul": "a%00", "bad-utf8": "%ff", "unicode": "%C3%A9", "backslash": "a%5cb"}
TAG_NAMES |= {"long": "a" * 129}
TAGS = [
    put_json(f"put-tag-name-{label}", f"/v1/repositories/library/v1app/tags/{tag}", 400, TAG_MESSAGE, b'"{image}"')
    for label, tag in TAG_NAMES.items()
]

HEADERS = (
    [
        Case(f"checksum-{label}", "PUT", "/v1/images/{image}/checksum", status, message, headers=headers)
        for label, status, message, headers in [
            ("missing-header", 412, None, {}),
            ("empty", 400, "Missing Image's checksum", {"X-Docker-Checksum-Payload": ""}),
            ("md5", 409, "Cannot set this image checksum", {"X-Docker-Checksum-Payload": "md5:" + "0" * 32}),
        ]
    ]
    + [
        Case(f"layer-range-{label}", "GET", "/v1/images/{image}/layer", 416, None, headers={"Range": value})
        for label, value in {
            "backwards": "bytes=5-1",
            "past-end": "bytes=999999999-",
            "multi": "bytes=0-1,2-3",
            "unit": "lines=1-2",
            "garbage": "bytes=\x01",
        }.items()  # fmt: skip
    ]
    + [
        Case(
            "put-layer-unknown-image",
            "PUT",
            f"/v1/images/{NEW_ID}/layer",
            404,
            NOT_FOUND,
            b"x",
            {"Content-Type": OCTETS},
        ),
        Case("put-layer-complete-image", "PUT", "/v1/images/{image}/layer", 409, "Image already exists", b"x"),
        Case("search-n-word", "GET", "/v1/search?q=x&n=abc", 400, None),
        Case("search-nul", "GET", "/v1/search?q=v1%00app", 200, None),
        Case("search-bad-utf8", "GET", "/v1/search?q=%ff%fe", 200, None),
        Case("search-huge-query", "GET", "/v1/search?q=" + "x" * 20_000, 200, None),
        Case("unknown-route", "GET", "/v1/images/{image}/files/../../../etc", 404, "Not found"),
    ]
)

V1_CASES = [*id_cases(), *name_cases(), *IMAGE_JSON, *BODIES, *TAGS, *HEADERS]


@pytest.mark.parametrize("case", V1_CASES, ids=lambda case: case.id)
def test_v1_hostile_request(seeded_v1, lenient, case):
    images, tags = V1Image.objects.count(), Tag.objects.count()
    values = {"image": seeded_v1[-1].id}
    status, headers, body = django_answer(send(lenient, case, values))
    assert status == case.status, (status, body[:300])
    if case.code:
        assert v1_error_message(status, headers, body) == case.code
    elif status not in (200, 416):  # 416 on layers is bare: Docker 1.x reads it as "past the end"
        v1_error_message(status, headers, body)
    assert (V1Image.objects.count(), Tag.objects.count()) == (images, tags)


def test_corpus_ids_are_unique():
    ids = [case.id for case in V1_CASES]
    assert len(ids) == len(set(ids))


ODD_IMAGE_JSON = {
    "created-number": {"created": 5},
    "created-object": {"created": {"at": "now"}},
    "config-string": {"config": "not a config"},
    "config-list": {"config": [1, 2]},
    "container-config-cmd-object": {"container_config": {"Cmd": {"a": 1}}},
    "container-config-cmd-nested": {"container_config": {"Cmd": [["sh"], None, 5]}},
    "author-list": {"author": ["a", "b"]},
    "size-huge": {"Size": 10**40},
    "size-string": {"Size": "large"},
    "architecture-number": {"architecture": 64, "os": ["linux"]},
    "lone-surrogate": {"comment": "\ud800"},
    "nul-in-strings": {"comment": "a\x00b", "author": "\x00"},
    "deep-but-parseable": {"config": json.loads("[" * 500 + "]" * 500)},
}


@pytest.mark.parametrize("fields", ODD_IMAGE_JSON.values(), ids=ODD_IMAGE_JSON.keys())
def test_odd_but_valid_image_json_pushes_and_pulls(lenient, db, fields):
    """Image JSON is the client's: any JSON object with the right id is stored as is and served, over v1 and v2."""
    image = make_image("odd", None, {"f": b"x"}, "true", "2015-01-01T00:00:00Z")
    raw = json.dumps({**json.loads(image.json), **fields}).encode()
    url = f"/v1/images/{image.id}"
    assert lenient.put(f"{url}/json", raw, "application/json").status_code == 200
    assert lenient.put(f"{url}/layer", image.layer, OCTETS).status_code == 200
    payload = of_bytes(raw + b"\n" + image.layer)
    assert lenient.put(f"{url}/checksum", HTTP_X_DOCKER_CHECKSUM_PAYLOAD=payload).status_code == 200
    tag = lenient.put("/v1/repositories/odd/tags/latest", json.dumps(image.id), "application/json")
    assert tag.status_code == 200, tag.content[:300]
    assert lenient.get(f"{url}/json").content == raw
    assert lenient.get("/v1/repositories/odd/tags/latest/json").status_code == 200
    manifest = lenient.get(
        "/v2/odd/manifests/latest", HTTP_ACCEPT="application/vnd.docker.distribution.manifest.v2+json"
    )
    assert manifest.status_code == 200, manifest.content[:300]
    config = json.loads(manifest.content)["config"]["digest"]
    assert lenient.get(f"/v2/odd/blobs/{config}").status_code == 200
