"""Every catalog page at phone width (390 px): nothing scrolls sideways, and commands wrap between words
(or after / : @), never inside one. A screenshot of each page is kept in the test's tmp dir (and in
BERTH_UI_SHOTS when set)."""

import shutil

import pytest
from django.template.loader import render_to_string
from playwright.sync_api import expect

from images.models import Manifest, V1Image
from images.services import repositories
from tests.browser.conftest import PHONE, sign_in
from tests.support import content

LONG_REPOSITORY = "platform-team/observability/very-long-service-name-for-phones"
LONG_TAG = "2026.12.06-build-123456-linux-amd64-release-candidate"
UNBROKEN_TAG = "release_candidate_20261206_build_123456"  # one word: no line break opportunity inside
READER = ("reader", "reader-secret-pass")


@pytest.fixture
def phone_catalog(catalog):
    content.push_image(LONG_REPOSITORY, UNBROKEN_TAG, label="unbroken", layers=1)
    content.push_image(LONG_REPOSITORY, LONG_TAG, label="long", layers=2)
    repositories.set_description(
        LONG_REPOSITORY,
        "# Observability\n\nA **very** long description with `a-long-inline-code-span-that-could-overflow` and "
        "https://example.invalid/a/very/long/link/that/goes/on/and/on/without/any/spaces/at/all\n\n"
        "```\ndocker run --rm -it registry.example.invalid/platform-team/observability/service --flag=value\n```",
    )
    content.push_v1_image("legacy/app", "1.4", seed="phone")
    sbom = Manifest.objects.filter(artifact_type__contains="spdx").values_list("digest", flat=True).first()
    return {**catalog, "sbom": sbom}


def check_fits(page, name, tmp_path, shots_dir):
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    path = tmp_path / f"{name}-phone.png"
    page.screenshot(path=str(path), full_page=True)
    if shots_dir:
        shutil.copy(path, shots_dir / path.name)
    assert width <= PHONE["width"], f"{name} is {width}px wide at phone width"


def anonymous_pages(c):
    api, index = c["api"], c["index"]
    top = V1Image.objects.filter(tags__repository__name="legacy/app").values_list("image_id", flat=True).first()
    return {
        "home": "/",
        "search": "/?q=api",
        "search-nothing": "/?q=zzz-nothing-matches-this-long-query-at-all",
        "namespace": "/?namespace=team",
        "repository": "/r/team/app/api/",
        "repository-long": f"/r/{LONG_REPOSITORY}/",
        "repository-filtered": "/r/team/app/api/?q=1&sort=name",
        "tag": "/r/team/app/api/-/tags/1.0/",
        "tag-long": f"/r/{LONG_REPOSITORY}/-/tags/{LONG_TAG}/",
        "index": "/r/team/multi/-/tags/latest/?platform=linux/arm64/v8",
        "manifest": f"/r/team/app/api/-/manifests/{api}/",
        "index-by-digest": f"/r/team/multi/-/manifests/{index}/",
        "artifact": f"/r/team/app/api/-/manifests/{c['sbom']}/",
        "v1-tag": "/r/legacy/app/-/tags/1.4/",
        "v1-image": f"/r/legacy/app/-/v1/{top}/",
        "storage": "/storage/",
        "sign-in": "/accounts/login/",
        "not-found": "/r/no/such/repository/with/a/long/name/",
        "api-root": "/api/",
        "api-list": "/api/repositories/",
    }


def test_anonymous_pages_fit_a_phone(new_page, phone_catalog, tmp_path, shots_dir):
    page = new_page(PHONE)
    for name, path in anonymous_pages(phone_catalog).items():
        response = page.goto(path)
        assert response.status in (200, 404), (name, response.status)
        check_fits(page, name, tmp_path, shots_dir)


def test_signed_in_pages_fit_a_phone(new_page, phone_catalog, admin_user_ui, tmp_path, shots_dir):
    page = new_page(PHONE)
    sign_in(page, "/")
    expect(page.locator(".whoami")).to_contain_text("admin")
    check_fits(page, "home-signed-in", tmp_path, shots_dir)
    api = phone_catalog["api"]
    pages = {
        "repository-actions": f"/r/{LONG_REPOSITORY}/",
        "confirm-untag": f"/r/{LONG_REPOSITORY}/-/tags/{LONG_TAG}/delete/",
        "confirm-delete-image": f"/r/team/app/api/-/manifests/{api}/delete/",
        "confirm-delete-repository": f"/r/{LONG_REPOSITORY}/-/delete/",
        "confirm-untag-many": "/r/team/app/api/-/untag/?tag=1.0&tag=1.1",
        "api-root-signed-in": "/api/",
    }
    for name, path in pages.items():
        assert page.goto(path).status == 200, name
        check_fits(page, name, tmp_path, shots_dir)
    page.goto(f"/r/{LONG_REPOSITORY}/")
    page.get_by_text("Edit details").click()
    check_fits(page, "repository-editing", tmp_path, shots_dir)


def test_error_pages_fit_a_phone(new_page, phone_catalog, django_user_model, tmp_path, shots_dir):
    django_user_model.objects.create_user(READER[0], password=READER[1])
    page = new_page(PHONE)
    page.goto("/accounts/login/?next=/")
    page.fill("#id_username", READER[0])
    page.fill("#id_password", READER[1])
    page.click("main button[type=submit]")
    expect(page.locator(".whoami")).to_contain_text("reader")
    forbidden = page.goto("/r/team/app/api/-/delete/")
    assert forbidden.status == 403
    expect(page.locator(".error-code")).to_have_text("403")
    check_fits(page, "forbidden", tmp_path, shots_dir)
    too_many_fields = "/?" + "&".join(f"f{i}=1" for i in range(1100))  # DATA_UPLOAD_MAX_NUMBER_FIELDS
    assert page.goto(too_many_fields).status == 400
    expect(page.locator(".error-code")).to_have_text("400")
    check_fits(page, "bad-request", tmp_path, shots_dir)
    page.goto("/storage/")  # the 500 page as the handler renders it (no context), on the site's origin
    page.set_content(render_to_string("500.html"))
    expect(page.locator(".error-code")).to_have_text("500")
    check_fits(page, "server-error", tmp_path, shots_dir)


# A line may start after a space, "/", ":", "@" or a hyphen (where a browser breaks words anyway), or every
# 16 hex digits of a digest: never inside a word (the phone layout used to break anywhere: "loc|alhost").
LINE_STARTS = """(id) => {
  const code = document.getElementById(id);
  const out = [];
  const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    for (let i = 0; i < node.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const rect = range.getClientRects()[0];
      out.push([node.data[i], rect ? Math.round(rect.top) : null]);
    }
  }
  return out;
}"""


def lines_of(page, element_id):
    chars, lines, top = page.evaluate(LINE_STARTS, element_id), [], None
    for char, char_top in chars:
        if char_top is None or (char == " " and lines and char_top != top):
            lines[-1] += char if lines else ""
            continue
        if top is None or char_top > top + 2:
            lines.append("")
            top = char_top
        lines[-1] += char
    return lines


def assert_wraps_between_words(lines, command):
    packed = command.replace(" ", "")
    assert "".join(lines).replace(" ", "") == packed
    digest_at = packed.find("sha256:") + len("sha256:") if "sha256:" in packed else None
    position = 0
    for previous in lines[:-1]:
        position += len(previous.replace(" ", ""))
        after = previous.rstrip(" ")[-1]
        in_digest = digest_at is not None and position > digest_at
        assert after in " /:@-" or previous.endswith(" ") or (in_digest and (position - digest_at) % 16 == 0), (
            f"{command!r} breaks inside a word: {lines}"
        )


def test_commands_wrap_between_words_on_a_phone(new_page, phone_catalog, live_server, tmp_path):
    page = new_page(PHONE)
    host = live_server.url.split("://", 1)[1]
    page.goto(f"/r/{LONG_REPOSITORY}/-/tags/{LONG_TAG}/")
    digest = Manifest.objects.get(tags__name=LONG_TAG).digest
    commands = {
        "pull-tag": f"docker pull {host}/{LONG_REPOSITORY}:{LONG_TAG}",
        "pull-digest": f"docker pull {host}/{LONG_REPOSITORY}@{digest}",
    }

    def check(element_id, command):
        lines = lines_of(page, element_id)
        assert len(lines) > 1, lines  # it does wrap at this width
        assert_wraps_between_words(lines, command)
        box = page.locator(f"#{element_id}")
        assert box.evaluate("e => e.getBoundingClientRect().right") <= PHONE["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    for element_id, command in commands.items():
        check(element_id, command)
    page.screenshot(path=str(tmp_path / "commands-phone.png"), full_page=True)
    page.get_by_role("button", name="Copy pull-by-digest command").click()
    assert page.evaluate("navigator.clipboard.readText()") == commands["pull-digest"]
    page.goto(f"/r/{LONG_REPOSITORY}/")
    check("pull-command", commands["pull-tag"])
    page.goto(f"/r/{LONG_REPOSITORY}/-/tags/{UNBROKEN_TAG}/")  # a word wider than the box scrolls inside it
    check("pull-tag", f"docker pull {host}/{LONG_REPOSITORY}:{UNBROKEN_TAG}")
    page.screenshot(path=str(tmp_path / "unbroken-phone.png"), full_page=True)
