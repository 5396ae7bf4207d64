"""Hostile requests to every v2 route: each gets the right 4xx and error code, never a 500.

tests/v2/test_v2_robustness.py already covers traversal in GET/HEAD/DELETE paths, odd
pagination queries, broken manifest JSON, numeric Content-Range/Range/Content-Length
garbage; this corpus covers the writes, the digest grammar on every route, lying
digests, media types, and the rest. Every case also runs against gunicorn (test_wire.py).
"""

import json

import pytest

from images import manifest_formats
from images.models import Blob, Manifest, Tag
from tests.hostile.cases import HEX, MIB, MISSING, OCTETS, Case, needs_upload, send
from tests.hostile.checks import django_answer, v2_error_code

pytestmark = pytest.mark.django_db

UPPER = "sha256:" + HEX.upper()
SHORT = "sha256:" + HEX[:-1]
LONG = "sha256:" + HEX + "0"
MD5 = "md5:" + "0" * 32
SHA512_SHORT = "sha512:" + HEX
TRAVERSAL_NAMES = ["..", "../etc", "%2e%2e/etc", "team/..", "team/%2e%2e", "/etc", "%2fetc", "team\\app", "team%5capp"]
TRAVERSAL_NAMES += ["team/app%00", "team/./app", "team//app", "Team/App", "team/app/", "%ff%fe", "a" * 256]
BAD_DIGESTS = {"upper": UPPER, "short": SHORT, "long": LONG, "md5": MD5, "sha512-short": SHA512_SHORT}
BAD_DIGESTS |= {"dotdot": "sha256:..", "nul": f"sha256:{HEX[:-1]}%00", "traversal": "..%2f..%2fetc%2fpasswd"}
BAD_DIGESTS |= {"no-algorithm": HEX, "colon-only": ":", "backslash": f"sha256:{HEX[:-1]}%5c"}
OCI = {"Content-Type": manifest_formats.OCI_MANIFEST}


def _manifest(**changes):
    body = {
        "schemaVersion": 2,
        "mediaType": manifest_formats.OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": MISSING, "size": 2},
        "layers": [],
    }
    body.update(changes)
    return json.dumps(body).encode()


def _descriptor(digest, media_type="application/vnd.oci.image.layer.v1.tar"):
    return {"mediaType": media_type, "digest": digest, "size": 1}


def name_cases():
    for name in TRAVERSAL_NAMES:
        yield Case(f"post-upload-{name}", "POST", f"/v2/{name}/blobs/uploads/", 400, "NAME_INVALID")
        yield Case(f"put-manifest-{name}", "PUT", f"/v2/{name}/manifests/latest", 400, "NAME_INVALID", _manifest(), OCI)
        yield Case(f"patch-upload-{name}", "PATCH", f"/v2/{name}/blobs/uploads/{{upload}}", 400, "NAME_INVALID", b"x")
        yield Case(
            f"put-upload-{name}", "PUT", f"/v2/{name}/blobs/uploads/{{upload}}?digest={MISSING}", 400, "NAME_INVALID"
        )


def digest_cases():
    for label, digest in BAD_DIGESTS.items():
        # An encoded slash in the last segment leaves no route: 404 NAME_UNKNOWN, in the v2 envelope.
        in_path = (404, "NAME_UNKNOWN") if "%2f" in digest else (400, "DIGEST_INVALID")
        yield Case(f"get-blob-{label}", "GET", f"/v2/team/app/blobs/{digest}", *in_path)
        yield Case(f"delete-blob-{label}", "DELETE", f"/v2/team/app/blobs/{digest}", *in_path)
        yield Case(f"referrers-{label}", "GET", f"/v2/team/app/referrers/{digest}", *in_path)
        yield Case(
            f"post-digest-{label}", "POST", f"/v2/team/app/blobs/uploads/?digest={digest}", 400, "DIGEST_INVALID"
        )
        yield Case(
            f"post-mount-{label}",
            "POST",
            f"/v2/team/app/blobs/uploads/?mount={digest}&from=team/app",
            400,
            "DIGEST_INVALID",
        )
        yield Case(
            f"put-upload-{label}",
            "PUT",
            f"/v2/team/app/blobs/uploads/{{upload}}?digest={digest}",
            400,
            "DIGEST_INVALID",
        )
    for label in ("upper", "short", "long", "md5", "sha512-short"):
        digest = BAD_DIGESTS[label]
        # A lookup by a reference that can't exist is simply unknown (services/manifests.py get()).
        yield Case(f"get-manifest-{label}", "GET", f"/v2/team/app/manifests/{digest}", 404, "MANIFEST_UNKNOWN")
        yield Case(
            f"put-manifest-{label}", "PUT", f"/v2/team/app/manifests/{digest}", 400, "DIGEST_INVALID", _manifest(), OCI
        )


def tag_cases():
    tags = {"dotdot": "..", "dot": ".", "encoded-dotdot": "%2e%2e", "nul": "latest%00", "dash": "-x"}
    tags |= {"backslash": "a%5cb", "bad-utf8": "%ff", "space": "a%20b", "long": "a" * 129}
    for label, tag in tags.items():
        yield Case(
            f"put-manifest-tag-{label}", "PUT", f"/v2/team/app/manifests/{tag}", 400, "TAG_INVALID", _manifest(), OCI
        )


UPLOADS, UPLOAD, LATEST = (
    "/v2/team/app/blobs/uploads/",
    "/v2/team/app/blobs/uploads/{upload}",
    "/v2/team/app/manifests/latest",
)

LIES = [  # digests that lie: the body is not what ?digest= (or the manifest reference) says
    Case("monolithic-digest-lies", "POST", f"{UPLOADS}?digest={MISSING}", 400, "DIGEST_INVALID", b"other"),
    Case("monolithic-empty-body", "POST", f"{UPLOADS}?digest={MISSING}", 400, "DIGEST_INVALID"),
    Case("put-digest-lies", "PUT", f"{UPLOAD}?digest={MISSING}", 400, "DIGEST_INVALID", b"x"),
    Case(
        "put-manifest-digest-lies", "PUT", "/v2/team/app/manifests/{missing}", 400, "DIGEST_INVALID", _manifest(), OCI
    ),
    Case("put-upload-no-digest", "PUT", UPLOAD, 400, "BLOB_UPLOAD_INVALID", b"x"),
    Case("put-upload-empty-digest", "PUT", f"{UPLOAD}?digest=", 400, "BLOB_UPLOAD_INVALID"),
]

SESSION_IDS = {"unknown": "00000000-0000-0000-0000-000000000000", "not-uuid": "nope", "dotdot": "%2e%2e", "nul": "%00"}
SESSION_IDS |= {"backslash": "..%5c..%5cetc", "bad-utf8": "%ff", "long": "a" * 5000}
UPLOAD_SESSIONS = [
    Case(f"{method.lower()}-upload-{label}", method, f"{UPLOADS}{uid}", 404, "BLOB_UPLOAD_UNKNOWN")
    for method in ("GET", "PATCH", "DELETE")
    for label, uid in SESSION_IDS.items()
] + [
    Case("upload-of-other-repository", "PATCH", "/v2/team/other/blobs/uploads/{upload}", 404, "BLOB_UPLOAD_UNKNOWN"),
    Case("put-upload-unknown", "PUT", f"{UPLOADS}{HEX}?digest={MISSING}", 404, "BLOB_UPLOAD_UNKNOWN"),
]

CONTENT_RANGES = {"not-at-offset": (b"12345", "5-9"), "vs-length": (b"12345", "0-9"), "words": (b"12345", "bytes=all")}
CONTENT_RANGES |= {"negative-total": (b"1", "0-0/-1")}
BLOB_RANGES = {"backwards": "bytes=5-1", "past-end": "bytes=999999-", "multi": "bytes=0-1,3-4", "unit": "items=0-1"}
BLOB_RANGES |= {"empty": "bytes=-", "suffix-zero": "bytes=-0", "negative": "bytes=-5-1", "garbage": "\x7f"}
BLOB_RANGES |= {"huge-start": "bytes=" + "9" * 400 + "-"}
RANGES = [
    Case(f"patch-range-{label}", "PATCH", UPLOAD, 416, "RANGE_INVALID", body, {"Content-Range": value})
    for label, (body, value) in CONTENT_RANGES.items()
] + [
    Case(f"get-blob-range-{label}", "GET", "/v2/team/app/blobs/{blob}", 416, "RANGE_INVALID", headers={"Range": value})
    for label, value in BLOB_RANGES.items()
]

INDEX_WITH_STRING_PLATFORM = {
    "schemaVersion": 2,
    "mediaType": manifest_formats.OCI_INDEX,
    "manifests": [{**_descriptor(MISSING, manifest_formats.OCI_MANIFEST), "platform": "linux"}],
}
INVALID_MANIFESTS = {  # label: (body, Content-Type)
    "empty": (b"", manifest_formats.OCI_MANIFEST),
    "array": (b"[]", manifest_formats.OCI_MANIFEST),
    "schema1-type": (_manifest(), "application/vnd.docker.distribution.manifest.v1+prettyjws"),
    "type-mismatch": (_manifest(), manifest_formats.DOCKER_MANIFEST),
    "index-type-on-image": (_manifest(mediaType=manifest_formats.OCI_INDEX), manifest_formats.OCI_MANIFEST),
    "unknown-media-type": (_manifest(mediaType="text/html"), "text/html"),
    "no-config": (
        json.dumps({"schemaVersion": 2, "mediaType": manifest_formats.OCI_MANIFEST}).encode(),
        manifest_formats.OCI_MANIFEST,
    ),
    "layer-md5": (_manifest(layers=[_descriptor(MD5)]), manifest_formats.OCI_MANIFEST),
    "layer-upper-hex": (_manifest(layers=[_descriptor(UPPER)]), manifest_formats.OCI_MANIFEST),
    "layer-traversal": (
        _manifest(layers=[_descriptor("sha256:../../../../etc/passwd")]),
        manifest_formats.OCI_MANIFEST,
    ),
    "negative-size": (_manifest(layers=[{**_descriptor(MISSING), "size": -1}]), manifest_formats.OCI_MANIFEST),
    "size-string": (_manifest(layers=[{**_descriptor(MISSING), "size": "1"}]), manifest_formats.OCI_MANIFEST),
    "layer-null": (_manifest(layers=[None]), manifest_formats.OCI_MANIFEST),
    "subject-bad-digest": (
        _manifest(subject=_descriptor(SHORT, manifest_formats.OCI_MANIFEST)),
        manifest_formats.OCI_MANIFEST,
    ),
    "platform-string": (json.dumps(INDEX_WITH_STRING_PLATFORM).encode(), manifest_formats.OCI_INDEX),
    "schema-version-1": (_manifest(schemaVersion=1), manifest_formats.OCI_MANIFEST),
    "bad-utf8-key": (_manifest().replace(b'"layers"', b'"layers\xc3\x28"'), manifest_formats.OCI_MANIFEST),
    "duplicate-keys": (_manifest()[:-1] + b', "schemaVersion": 1}', manifest_formats.OCI_MANIFEST),
}
MANIFESTS = [
    Case("manifest-over-4mib", "PUT", LATEST, 413, "SIZE_INVALID", _manifest(annotations={"pad": "x" * (4 * MIB)}), OCI)
] + [
    Case(f"manifest-{label}", "PUT", LATEST, 400, "MANIFEST_INVALID", body, {"Content-Type": content_type})
    for label, (body, content_type) in INVALID_MANIFESTS.items()
]

METHODS = [
    Case("put-blob", "PUT", "/v2/team/app/blobs/{blob}", 405, "UNSUPPORTED", b"x"),
    Case("post-manifest", "POST", "/v2/team/app/manifests/latest", 405, "UNSUPPORTED", _manifest(), OCI),
    Case("patch-manifest", "PATCH", "/v2/team/app/manifests/latest", 405, "UNSUPPORTED", _manifest(), OCI),
    Case("delete-tags-list", "DELETE", "/v2/team/app/tags/list", 405, "UNSUPPORTED"),
    Case("post-catalog", "POST", "/v2/_catalog", 405, "UNSUPPORTED"),
    Case("put-referrers", "PUT", "/v2/team/app/referrers/{manifest}", 405, "UNSUPPORTED"),
    Case("post-upload-session", "POST", "/v2/team/app/blobs/uploads/{upload}", 405, "UNSUPPORTED"),
]

MISC = [
    Case("tags-unknown-repository", "GET", "/v2/team/nothing/tags/list", 404, "NAME_UNKNOWN"),
    Case("tags-n-word", "GET", "/v2/team/app/tags/list?n=abc", 400, "PAGINATION_NUMBER_INVALID"),
    Case("catalog-n-word", "GET", "/v2/_catalog?n=abc", 400, "PAGINATION_NUMBER_INVALID"),
    Case("catalog-n-negative", "GET", "/v2/_catalog?n=-1", 400, "PAGINATION_NUMBER_INVALID"),
    Case("manifest-unknown-tag", "GET", "/v2/team/app/manifests/nope", 404, "MANIFEST_UNKNOWN"),
    Case("blob-unknown", "GET", "/v2/team/app/blobs/{missing}", 404, "BLOB_UNKNOWN"),
    Case("blob-of-other-repository", "GET", "/v2/team/other/blobs/{blob}", 404, "BLOB_UNKNOWN"),
    Case("delete-manifest-by-bad-tag", "DELETE", "/v2/team/app/manifests/..", 404, "MANIFEST_UNKNOWN"),
    Case("unknown-route", "GET", "/v2/team/app/secrets", 404, "NAME_UNKNOWN"),
    Case("mount-without-from", "POST", f"/v2/team/app/blobs/uploads/?mount={MD5}", 202, None),
]

V2_CASES = [
    *name_cases(),
    *digest_cases(),
    *tag_cases(),
    *LIES,
    *UPLOAD_SESSIONS,
    *RANGES,
    *MANIFESTS,
    *METHODS,
    *MISC,
]


def values_for(seeded, client, case):
    values = {"blob": seeded.blobs[1], "manifest": seeded.digest, "missing": MISSING}
    if needs_upload(case):
        response = client.post("/v2/team/app/blobs/uploads/", b"", content_type=OCTETS)
        values["upload"] = response["Location"].rsplit("/", 1)[1]
    return values


@pytest.mark.parametrize("case", V2_CASES, ids=lambda case: case.id)
def test_v2_hostile_request(seeded_v2, client, lenient, case):
    blobs, manifests, tags = Blob.objects.count(), Manifest.objects.count(), Tag.objects.count()
    status, headers, body = django_answer(send(lenient, case, values_for(seeded_v2, client, case)))
    assert status == case.status, (status, body[:300])
    assert headers["docker-distribution-api-version"] == "registry/2.0"
    if case.code:
        assert v2_error_code(status, headers, body, case.method) == case.code, body[:300]
    assert (Blob.objects.count(), Manifest.objects.count(), Tag.objects.count()) == (blobs, manifests, tags)


def test_corpus_ids_are_unique():
    ids = [case.id for case in V2_CASES]
    assert len(ids) == len(set(ids))
