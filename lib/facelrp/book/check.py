"""The built book, checked as a reader sees it: every page in headless Chromium.

`check_book` serves a Jupyter Book's ``_build/html`` on localhost, opens every page in
headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by Selenium),
and reports per page: images that did not load, figures without a rendered image, error
cells (tracebacks), a cell's stderr shown to the reader (library logs), and internal links
to a page or anchor that does not exist. It saves a full-page screenshot of each page.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

__all__ = ["PageReport", "check_book", "find_chromium"]

_BROWSER_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars",
)

# What the page itself reports, after it has loaded (run in the browser).
_INSPECT = """
const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
const emptyFigures = [...document.querySelectorAll('figure')].filter(f => {
  const img = f.querySelector('img');
  return !img || !(img.complete && img.naturalWidth > 0);
}).map(f => f.id || (f.querySelector('figcaption') || {}).textContent || 'figure');
const errors = [...document.querySelectorAll('.output.traceback, .output.error, .cell_output .error')]
  .map(e => e.textContent.slice(0, 200));
const text = document.body.innerText;
if (text.includes('Traceback (most recent call last)')) errors.push('a traceback in the page text');
// a cell's stderr (library logs, warnings) shown to the reader: tag the cell remove-cell or
// remove-stderr, or silence the library
const logs = [...document.querySelectorAll('.output.stderr')].map(e => e.textContent.slice(0, 200));
const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
return {broken, emptyFigures, errors, logs, links, ids, height: document.documentElement.scrollHeight};
"""


@dataclass
class PageReport:
    """What the browser found on one page."""

    page: str
    broken_images: list[str] = field(default_factory=list)
    empty_figures: list[str] = field(default_factory=list)
    error_cells: list[str] = field(default_factory=list)
    log_output: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)
    screenshot: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.broken_images or self.empty_figures or self.error_cells or self.log_output or self.broken_links)

    def problems(self) -> list[str]:
        return (
            [f"image did not load: {s}" for s in self.broken_images]
            + [f"figure without a rendered image: {s.strip()[:80]}" for s in self.empty_figures]
            + [f"error cell: {s.strip()[:120]}" for s in self.error_cells]
            + [f"log output shown to the reader: {s.strip()[:120]}" for s in self.log_output]
            + [f"broken internal link: {s}" for s in self.broken_links]
        )


def find_chromium() -> tuple[str, str]:
    """Paths of the Chromium binary and its driver; a clear error when they are missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        raise RuntimeError(
            "the browser check needs Debian's chromium and chromium-driver: `make browser` installs them "
            "(apt-get install chromium chromium-driver)"
        )
    return browser, driver


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the check reports what matters
        pass


def _serve(root: Path):
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def check_book(html: str | os.PathLike, screenshots: str | os.PathLike | None = None, *, width: int = 1280,
               pages: list[str] | None = None) -> list[PageReport]:
    """Open every page of the built book `html` (a ``_build/html`` folder) in Chromium.

    Pages are the ``.html`` files below `html` except Sphinx's own (search, genindex,
    ``_static``), or the `pages` given (paths relative to `html`). With `screenshots`, a
    full-page PNG of each page is saved there under the page's path with ``/`` replaced
    by ``__``. Links to anchors are checked against the pages opened.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    html = Path(html)
    if not (html / "index.html").is_file():
        raise FileNotFoundError(f"{html}: no index.html; build the book first (make book)")
    browser, driver_path = find_chromium()
    chosen, pages = pages, sorted(
        p.relative_to(html).as_posix() for p in html.rglob("*.html")
        if not p.relative_to(html).parts[0].startswith("_") and p.name not in {"search.html", "genindex.html"}
    )
    pages = [p for p in pages if p != "index.html"]  # index.html only redirects to the first page
    if chosen is not None:
        missing = sorted(set(chosen) - set(pages))
        if missing:
            raise FileNotFoundError(f"{html}: no page {', '.join(missing)} in this book; name pages by their path below "
                                    f"it, as {pages[0]}")
        pages = [p for p in pages if p in set(chosen)]
    if screenshots is not None:
        screenshots = Path(screenshots)
        screenshots.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in _BROWSER_FLAGS:
        options.add_argument(flag)
    server = _serve(html)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    reports, anchors, links = [], {}, {}
    try:
        for page in pages:
            driver.set_window_size(width, 900)
            driver.get(urljoin(base, page))
            found = driver.execute_script(_INSPECT)
            report = PageReport(page, found["broken"], found["emptyFigures"], found["errors"], found["logs"])
            anchors[page] = set(found["ids"])
            links[page] = found["links"]
            if screenshots is not None:
                driver.set_window_size(width, min(int(found["height"]) + 100, 16000))
                shot = screenshots / (page.replace("/", "__").removesuffix(".html") + ".png")
                driver.save_screenshot(str(shot))
                report.screenshot = str(shot)
            reports.append(report)
    finally:
        driver.quit()
        server.shutdown()
    for report in reports:  # internal links: the target page exists and holds the anchor
        for link in links[report.page]:
            if not link.startswith(base):
                continue
            target, anchor = urldefrag(link)
            path = urlparse(target).path.lstrip("/") or "index.html"
            if path.endswith("/"):
                path += "index.html"
            if not (html / path).is_file():
                report.broken_links.append(link[len(base):])
            elif anchor and path in anchors and anchor not in anchors[path]:
                report.broken_links.append(link[len(base):])
    return reports
