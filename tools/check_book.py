"""Check the built book in a real browser, the way a reader meets it.

``make check-book`` runs this over ``_build/html``. It serves the folder on 127.0.0.1, opens every
page in headless Chromium (Playwright driving the system browser, Debian's ``chromium`` package;
the script installs it with apt-get when it is missing and it runs as root), and fails when any of
these fails on any page:

1. no JavaScript error: no console message of type ``error`` and no uncaught exception;
2. offline: the page asks nothing of any host but the local server (other requests are refused,
   and reported);
3. every ``<img>`` has loaded, with a non-zero natural width and height;
4. math is rendered: every ``.math`` element holds a MathJax ``mjx-container``, and no ``$`` is
   left in the prose (outside code, cell outputs and math), where it means TeX that no math
   delimiter pair caught;
5. bertviz views are drawn: each ``div[id^=bertviz-]`` holds an SVG with content, and the pages
   named by ``--bertviz`` have at least one such view;
6. every internal link resolves: the target file exists and, with a ``#fragment``, the target
   page has an element with that id (a page that only forwards, like Jupyter Book's
   ``index.html``, is checked for its target and not opened);
7. the Colab and Binder launch buttons point at this repository and at a notebook that exists in
   the checkout (``--repo-root``).

Checks 6 and 7 read the HTML files (``static_problems``); 1-5 need the browser
(``browser_problems``).
A screenshot of every page (its first screen) goes to ``_build/screenshots/`` (``--screenshots``),
with one more of each bertviz view. The exit status is
1 when any check failed, and every problem is printed as ``page: problem``.

Usage::

    python tools/check_book.py [--site _build/html] [--bertviz notebooks/08_pretrained_weights.html]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[1]
LAUNCHERS = ("colab.research.google.com", "mybinder.org")


@dataclass
class Page:
    """What the static checks need from one HTML file: its ids and the links it makes."""

    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)
    redirect: str | None = None  # target of a <meta http-equiv="refresh"> page


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = Page()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attributes.get(key):
                self.page.ids.add(attributes[key])
        if tag == "a" and attributes.get("href"):
            self.page.links.append(attributes["href"])
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            target = (attributes.get("content") or "").partition("url=")[2].strip()
            self.page.redirect = target or None
            if target:
                self.page.links.append(target)


@functools.cache
def parse_page(path: Path) -> Page:
    """Ids and link targets of one HTML file."""
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser.page


def pages(site: Path) -> list[Path]:
    """Every HTML page of the site, static asset folders left out."""
    skip = {"_static", "_sources", "_images", "_downloads"}
    return sorted(p for p in site.rglob("*.html") if not skip & set(p.relative_to(site).parts))


def launch_target(url: str) -> str | None:
    """Repository-relative notebook path a Colab or Binder address opens, or None for others.

    Colab: ``.../github/<owner>/<repo>/blob/<branch>/<path>``; Binder: ``urlpath=tree/<path>``.
    The owner and repository come back as the first two parts, ``<owner>/<repo>/<path>``.
    """
    parts = urlsplit(url)
    if parts.hostname == "colab.research.google.com":
        match = re.match(r"/github/([^/]+/[^/]+)/blob/[^/]+/(.+)", parts.path)
        return f"{match.group(1)}/{match.group(2)}" if match else ""
    if parts.hostname == "mybinder.org":
        match = re.match(r"/v2/gh/([^/]+/[^/]+)/[^/]+", parts.path)
        path = parse_qs(parts.query).get("urlpath", [""])[0]
        path = re.sub(r"^(tree|lab/tree|notebooks)/", "", path)
        return f"{match.group(1)}/{path}" if match and path else ""
    return None


def static_problems(site: Path, repo_root: Path,
                    repository: str) -> tuple[list[str], int, int]:
    """Broken internal links and anchors, and launch buttons to missing notebooks.

    ``repository`` is ``owner/name``. Returns the problems, the number of internal links checked
    and the number of launch buttons checked.
    """
    found, checked, launchers = [], 0, 0
    for path in pages(site):
        name = path.relative_to(site).as_posix()
        for href in parse_page(path).links:
            target = launch_target(href)
            if target is not None:
                launchers += 1
                owner, repo, notebook = ([*target.split("/", 2), "", ""])[:3]
                if f"{owner}/{repo}" != repository:
                    found.append(f"{name}: launch button {href} is not for {repository}")
                elif not notebook.endswith(".ipynb") or not (repo_root / notebook).is_file():
                    found.append(f"{name}: launch button {href} opens {notebook!r}, "
                                 "which is not a notebook of the repository")
                continue
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            checked += 1
            file = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if file.is_dir():
                file = file / "index.html"
            inside = site.resolve() in file.resolve().parents
            if not file.is_file() or not inside:
                found.append(f"{name}: link {href} points at a missing file")
                continue
            anchor = unquote(parts.fragment)
            if anchor and file.suffix == ".html" and anchor not in parse_page(file).ids:
                found.append(f"{name}: link {href} points at a missing anchor #{anchor}")
    return found, checked, launchers


# Runs in the page once it has loaded: waits for MathJax, then reports what the checks need.
PAGE_REPORT_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await new Promise(r => setTimeout(r, 300));
  const images = [...document.querySelectorAll('img')].map(img => ({
    src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0 && img.naturalHeight > 0,
  }));
  const math = [...document.querySelectorAll('.math')];
  const views = [...document.querySelectorAll('div[id^="bertviz-"]')].map(div => ({
    id: div.id, shapes: div.querySelectorAll('svg *').length,
  }));
  // TeX that reached the reader as text: a "$" left in the prose (outside code, outputs, math)
  const skip = 'code, pre, script, style, mjx-container, .math, .cell_output, .output';
  const walker = document.createTreeWalker(document.querySelector('main') || document.body,
                                           NodeFilter.SHOW_TEXT);
  const dollars = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.textContent.includes('$') && !node.parentElement.closest(skip)) {
      dollars.push(node.textContent.trim().slice(0, 80));
    }
  }
  return {
    images, views, dollars,
    math: math.length,
    mathUnrendered: math.filter(el => !el.querySelector('mjx-container')).length,
  };
}
"""


@dataclass
class BrowserReport:
    problems: list[str] = field(default_factory=list)
    pages: int = 0
    images: int = 0
    math: int = 0
    views: int = 0


def find_chromium() -> str | None:
    """Path of the system Chromium or Google Chrome (GitHub's Ubuntu runners), else None."""
    names = ("chromium", "chromium-browser", "google-chrome")
    return next(filter(None, map(shutil.which, names)), None)


def ensure_chromium() -> str:
    """Path of the system Chromium; installs Debian's package first when it is missing (root)."""
    found = find_chromium()
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("chromium is not installed: apt-get install chromium (as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True, env=env)
    return shutil.which("chromium")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``site`` on a free port of 127.0.0.1 in a daemon thread; returns server, base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def browser_problems(site: Path, bertviz: list[str], screenshots: Path | None,
                     chromium: str) -> BrowserReport:
    """Open every page of ``site`` in headless Chromium and collect what fails (checks 1-5)."""
    from playwright.sync_api import sync_playwright

    report = BrowserReport()
    server, base = serve(site)
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium,
                                                 args=["--no-sandbox", "--disable-gpu"])
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            for path in pages(site):
                name = path.relative_to(site).as_posix()
                if parse_page(path).redirect:  # only forwards; its target is checked statically
                    continue
                report.problems += _check_page(context, base, name, name in bertviz,
                                               screenshots, report)
            browser.close()
    finally:
        server.shutdown()
    return report


def _check_page(context, base: str, name: str, needs_views: bool, screenshots: Path | None,
                report: BrowserReport) -> list[str]:
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console error: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught exception: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}")
            if r.url.startswith(base) else None)

    def offline(route) -> None:
        if route.request.url.startswith(base) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            errors.append(f"asks the network for {route.request.url}")
            route.abort()

    page.route("**/*", offline)
    page.goto(urljoin(base, name), wait_until="load")
    result = page.evaluate(PAGE_REPORT_JS)
    page.wait_for_timeout(200)  # late console errors from scripts the page started
    if screenshots is not None:
        stem = name.replace("/", "__")[:-5]
        page.screenshot(path=str(screenshots / f"{stem}.png"))
        drawn = [view for view in result["views"] if view["shapes"] >= 5]
        for number, view in enumerate(drawn, 1):  # each drawn bertviz view on its own
            page.locator(f"#{view['id']}").screenshot(path=str(screenshots /
                                                               f"{stem}__bertviz{number}.png"))
    page.close()

    report.pages += 1
    report.images += len(result["images"])
    report.math += result["math"]
    report.views += len(result["views"])
    problems = list(errors)
    problems += [f"image not loaded: {img['src']}" for img in result["images"] if not img["ok"]]
    if result["mathUnrendered"]:
        problems.append(f"{result['mathUnrendered']} of {result['math']} math elements "
                        "not rendered")
    problems += [f"TeX left as text (a $ in the prose): {text!r}" for text in result["dollars"]]
    problems += [f"bertviz view {v['id']} not drawn" for v in result["views"] if v["shapes"] < 5]
    if needs_views and not result["views"]:
        problems.append("no bertviz view on this page")
    return [f"{name}: {p}" for p in problems]


def repository_of(repo_root: Path) -> str:
    """``owner/name`` from ``_config.yml``'s repository url."""
    text = (repo_root / "_config.yml").read_text(encoding="utf-8")
    match = re.search(r"^repository:\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)", text, re.MULTILINE)
    if match is None:
        raise SystemExit("_config.yml has no repository url")
    return match.group(1).rstrip("/").removeprefix("https://github.com/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--repo-root", type=Path, default=ROOT)
    parser.add_argument("--bertviz", action="append", default=[],
                        help="page (relative to the site) that must show bertviz views")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "_build" / "screenshots")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        raise SystemExit(f"{args.site} holds no built book (index.html); build it first")

    problems, links, launchers = static_problems(args.site, args.repo_root,
                                                 repository_of(args.repo_root))
    report = browser_problems(args.site, args.bertviz, args.screenshots, ensure_chromium())
    problems += report.problems
    print("\n".join(problems))
    print(f"{report.pages} pages, {report.images} images, {report.math} math elements, "
          f"{report.views} bertviz views, {links} internal links, {launchers} launch buttons; "
          f"{len(problems)} problems; screenshots in {args.screenshots}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
