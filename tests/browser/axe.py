"""axe-core in the browser tests: load it into a page, run the WCAG 2.x A/AA rules, describe what fails.

axe-core comes from the npm registry, pinned, unpacked by scripts/test-deps.sh under var/test-tools/
(never committed). BERTH_AXE=/path/to/axe.min.js points elsewhere.
"""

import os
from functools import cache
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

AXE_VERSION = "4.11.4"
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("BERTH_AXE", ROOT / "var" / "test-tools" / f"axe-core-{AXE_VERSION}" / "axe.min.js"))
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCHEMES = ("light", "dark")

RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160)),
  }));
}"""


@cache
def source():
    if not AXE.is_file():
        pytest.fail(f"{AXE} not found: run scripts/test-deps.sh (it fetches axe-core@{AXE_VERSION} from npm)")
    return AXE.read_text()


def violations(page):
    """Every WCAG 2.0/2.1 A and AA violation on the page as it is now: one line per rule, with its elements."""
    # Evaluated through the DevTools protocol, so the page's Content-Security-Policy does not apply.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source())
    found = page.evaluate(RUN, TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']}\n      " + "\n      ".join(v["nodes"][:6]) for v in found]


def check_everywhere(page, label, viewports):
    """axe at every viewport width, light and dark, on the page as it is now: one entry per violation,
    naming the page and where it happens ("1280px light, 390px dark")."""
    where = {}
    for viewport in viewports:
        page.set_viewport_size(viewport)
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            for problem in violations(page):
                where.setdefault(problem, []).append(f"{viewport['width']}px {scheme}")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(viewports[0])
    return [f"{label} [{', '.join(modes)}]: {problem}" for problem, modes in where.items()]


def same_origin_links(page, base_url, skip):
    """The page's links to other pages of the site (no fragment), minus those matching `skip`."""
    origin = urlsplit(base_url).netloc
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        url = urlsplit(urljoin(page.url, href))
        if url.netloc != origin or url.scheme not in ("http", "https"):
            continue
        path = url.path + (f"?{url.query}" if url.query else "")
        if not any(pattern.search(path) for pattern in skip):
            found.append(path)
    return found
