"""Browser tests: Playwright (Python) driving Debian's Chromium against pytest-django's live server.

The browser is /usr/bin/chromium from apt (`apt-get install chromium`); Playwright never downloads
one here. Without it the tests fail under CI (CI=true) and are skipped elsewhere, saying why.
Set BERTH_UI_SHOTS=/some/dir to keep screenshots of every page at desktop and phone width.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections

from images.services import repositories
from tests.support import content

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# to set up content are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("BERTH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ADMIN = ("admin", "admin-secret-pass")


@pytest.fixture(scope="package")
def browser():
    if not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} not found: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # While Playwright's loop runs in this thread, Django keeps the thread's database connections
        # per context, apart from the ones pytest-django closes; one left open kept the test database
        # from being dropped at the end of the run. Hence also the package scope: the loop stops
        # when the browser tests are done, not at the end of the whole run.
        connections.close_all()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(viewport=DESKTOP) -> a Page in a fresh context whose base URL is the live server."""
    contexts = []

    def make(viewport=DESKTOP):
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, permissions=["clipboard-read", "clipboard-write"]
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def catalog(transactional_db):
    """Content pushed through the services, visible to the live server (same database)."""
    api = content.push_image("team/app/api", "1.0", label="api", layers=3)
    content.push_image("team/app/api", "1.1", label="api", layers=2)
    content.push_referrer("team/app/api", api)
    repositories.set_description("team/app/api", "The public API of our app.")
    index, children = content.push_index("team/multi", "latest")
    content.push_image("library/alpine", "3.20", label="alpine", layers=1)
    content.push_image("library/alpine", "latest", label="alpine", layers=1)
    return {"api": api, "index": index, "children": children}


@pytest.fixture
def admin_user_ui(transactional_db, django_user_model):
    return django_user_model.objects.create_superuser(ADMIN[0], "admin@example.invalid", ADMIN[1])


def sign_in(page, next_path="/"):
    page.goto(f"/accounts/login/?next={next_path}")
    page.fill("#id_username", ADMIN[0])
    page.fill("#id_password", ADMIN[1])
    page.click("button[type=submit]")


@pytest.fixture
def shots_dir():
    target = os.environ.get("BERTH_UI_SHOTS")
    if not target:
        return None
    path = Path(target)
    path.mkdir(parents=True, exist_ok=True)
    return path
