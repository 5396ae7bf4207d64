"""A staff member opens the Replication page in Chromium with rules and runs on it (long names, a long
error): it fits a 390 px phone (no sideways scrolling, "Run now" on screen), passes axe at both widths,
and "Run now" queues a run."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from replication.models import Remote, ReplicationItem, ReplicationRule, ReplicationRun
from tests.browser.axe import check_everywhere
from tests.browser.conftest import DESKTOP, PHONE, sign_in

ERROR = (
    "unreachable: HTTPSConnectionPool(host='registry.far-away-datacentre.example.invalid', port=443): "
    "Max retries exceeded with url: /v2/platform-team/observability/very-long-service-name/manifests/latest"
)


@pytest.fixture
def replication(transactional_db, admin_user_ui):
    remote = Remote.objects.create(name="far-away-mirror", url="https://registry.far-away-datacentre.example.invalid")
    rule = ReplicationRule.objects.create(
        name="observability-to-the-far-away-mirror",
        remote=remote,
        mode="push",
        repositories="platform-team/observability/*, platform-team/very-long-service-name-for-phones",
        tags="release-*",
        keep_last=5,
        referrers=True,
        last_run_at=timezone.now(),
        last_status="failed",
        last_message=ERROR,
    )
    run = ReplicationRun.objects.create(
        rule=rule, trigger="push", repository="platform-team/observability/service", status="failed", error=ERROR
    )
    ReplicationItem.objects.create(
        run=run,
        source="platform-team/observability/service",
        tag="release-2026.12.06-build-123456",
        destination="platform-team/observability/service",
        status="failed",
        attempts=3,
        error=ERROR,
    )
    return rule


def test_the_replication_page_fits_a_phone_and_passes_axe(new_page, replication, tmp_path):
    page = new_page(PHONE)
    sign_in(page, "/replication/")
    expect(page.get_by_role("heading", name="Replication", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name=replication.name, exact=True).first).to_be_visible()
    page.screenshot(path=str(tmp_path / "replication-390.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the Replication page is {width}px wide at phone width"
    run_now = page.get_by_role("button", name="Run now")
    run_now.scroll_into_view_if_needed()
    box = run_now.bounding_box()
    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"]
    problems = check_everywhere(page, "/replication/", (PHONE, DESKTOP))
    assert not problems, "\n".join(problems)

    page.set_viewport_size(PHONE)
    run_now.click()
    expect(page.get_by_text(f"{replication.name}: run")).to_be_visible()
    assert ReplicationRun.objects.filter(rule=replication, trigger="manual").exists()
