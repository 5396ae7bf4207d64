"""Keyboard only: push an image over the registry API, then sign in, find it and delete it with Tab and Enter,
checking at every stop that the focused control shows a visible focus indicator."""

import base64
import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from images import manifest_formats
from images.digests import of_bytes as sha256
from images.models import RepositoryManifest
from tests.browser.conftest import ADMIN

FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const name = (el.getAttribute('aria-label') || el.innerText || el.value || '').trim().replace(/\\s+/g, ' ');
  return {name, tag: el.tagName, outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
}"""


def call(url, method="GET", data=None, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()


def push_over_the_api(base, name, tag):
    """A client's push against the live server: token from /v2/token, blobs by monolithic POST, manifest PUT."""
    basic = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    _, _, body = call(
        f"{base}/v2/token?service=berth&scope=repository:{name}:pull,push", headers={"Authorization": f"Basic {basic}"}
    )
    auth = {"Authorization": f"Bearer {json.loads(body)['token']}", "Content-Type": "application/octet-stream"}
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = b"keyboard layer"
    for data in (config, layer):
        assert call(f"{base}/v2/{name}/blobs/uploads/?digest={sha256(data)}", "POST", data, auth)[0] == 201
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": manifest_formats.OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha256(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    status, headers, _ = call(
        f"{base}/v2/{name}/manifests/{tag}", "PUT", manifest, {**auth, "Content-Type": manifest_formats.OCI_MANIFEST}
    )
    assert status == 201
    return headers["Docker-Content-Digest"]


@pytest.fixture
def pushed(catalog, admin_user_ui, live_server):
    return push_over_the_api(live_server.url, "kb/app", "1.0")


def tab_to(page, name, limit=80):
    """Press Tab until the focused control is called `name` (a string or a pattern); every stop shows focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["tag"] != "BODY":
            assert focused["outline"], f"no visible focus on {focused} at {page.url}"
        if re.fullmatch(name, focused["name"]):
            return
    pytest.fail(f"{name!r} not reached with Tab on {page.url}")


def test_push_then_delete_with_the_keyboard_only(new_page, pushed):
    page = new_page()
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["name"] == "Skip to content"
    tab_to(page, "Sign in")
    page.keyboard.press("Enter")
    expect(page.get_by_label("User name")).to_be_focused()  # the sign-in page puts the cursor in its first field
    page.keyboard.type(ADMIN[0])
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN[1])
    page.keyboard.press("Enter")
    expect(page.locator(".whoami")).to_contain_text(ADMIN[0])

    tab_to(page, "kb/app")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/r/kb/app/$"))
    tab_to(page, "1.0")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/r/kb/app/-/tags/1.0/$"))
    tab_to(page, r"Delete image.*…")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Delete image")
    tab_to(page, r"Delete image and 1 tag")
    page.keyboard.press("Enter")

    expect(page.locator(".messages")).to_contain_text("Deleted image")
    assert not RepositoryManifest.objects.filter(repository__name="kb/app", manifest__digest=pushed).exists()
    page.goto("/r/kb/app/")
    expect(page.locator('tr[data-tag="1.0"]')).to_have_count(0)
