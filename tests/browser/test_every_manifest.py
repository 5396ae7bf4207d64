"""In Chromium: the pages of every kind of manifest the registry accepts render (an empty index's tag page
answered 500), at desktop and phone width."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.support import content


@pytest.fixture
def kinds(transactional_db):
    return content.push_every_kind()


EXPECTED = {
    "empty-index": "This index is empty: it lists no manifests.",
    "empty-manifest-list": "This index is empty: it lists no manifests.",
    "index-without-children": "This platform image is not stored in kinds/orphan-index",
    "helm-chart": "application/vnd.cncf.helm.config.v1+json",
    "oci-artifact": "application/vnd.wasm.content.layer.v1+wasm",
    "v1-image": "RUN dd if=/dev/urandom of=/opt/app/data.bin",
    "missing-config": "The image configuration could not be read from storage.",
}


def test_tag_pages_of_every_kind(new_page, kinds, tmp_path):
    for label, viewport in (("desktop", None), ("phone", PHONE)):
        page = new_page(viewport) if viewport else new_page()
        for kind, text in EXPECTED.items():
            repository, tag = kinds[kind]
            response = page.goto(f"/r/{repository}/-/tags/{tag}/")
            assert response.status == 200, (kind, response.status)
            expect(page.get_by_role("heading", level=1)).to_contain_text(f"{repository}:{tag}")
            expect(page.locator("main")).to_contain_text(text)
            assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], kind
            page.screenshot(path=str(tmp_path / f"{kind}-{label}.png"), full_page=True)


def test_repository_and_digest_pages_of_every_kind(page, kinds):
    for kind, (repository, tag) in kinds.items():
        assert page.goto(f"/r/{repository}/").status == 200, kind
        row = page.locator(f'tr[data-tag="{tag}"]')
        expect(row).to_be_visible()
        row.locator("a.mono:visible").click()  # the digest: the manifest's own page
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"{repository}@")
        expect(page.locator("main")).to_contain_text(EXPECTED[kind])


def test_v1_image_links_to_its_ancestry(page, kinds):
    repository, tag = kinds["v1-image"]
    page.goto(f"/r/{repository}/-/tags/{tag}/")
    page.get_by_text("(ancestry)").locator("xpath=..").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("v1 image")
    expect(page.locator("table.ancestry tbody tr")).to_have_count(3)
