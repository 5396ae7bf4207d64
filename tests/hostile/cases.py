"""The shape of one hostile request, and how to send it through Django's test client.

A case's path may hold placeholders filled per test from the seeded registry:
  {blob}      a layer digest linked to team/app        {manifest}  team/app:latest's digest
  {missing}   a well-formed digest of nothing stored    {upload}    a fresh upload session in team/app
  {image}     a complete v1 image id                     {v1repo}    library/v1app (holds {image})
"""

import hashlib
from dataclasses import dataclass, field

from images.digests import of_bytes

MISSING = of_bytes(b"never pushed")
HEX = hashlib.sha256(b"x").hexdigest()
OCTETS = "application/octet-stream"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    code: str | None  # v2: the error code; v1: the error message; None: the status says it all
    body: bytes = b""
    headers: dict = field(default_factory=dict)

    def url(self, values):
        return self.path.format(**values)

    def fill(self, values):
        """The body, with b"{image}" (the only placeholder bodies use) replaced."""
        return self.body.replace(b"{image}", values.get("image", "{image}").encode())


def needs_upload(case):
    return "{upload}" in case.path


def send(client, case, values):
    """Send a case with the Django test client (no body for GET/HEAD/DELETE unless the case has one)."""
    headers = dict(case.headers)
    content_type = headers.pop("Content-Type", OCTETS)
    extra = {_meta_key(name): value for name, value in headers.items()}
    return client.generic(case.method, case.url(values), case.fill(values), content_type=content_type, **extra)


def _meta_key(header):
    key = header.upper().replace("-", "_")
    return key if key in ("CONTENT_LENGTH", "CONTENT_TYPE") else f"HTTP_{key}"
