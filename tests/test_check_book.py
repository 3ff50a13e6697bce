"""tools/check_book.py on a tiny fake site: each check finds what it is for, and only that."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import check_book  # noqa: E402 (tools/ is no package)

REPO = "owner/book"
COLAB = f"https://colab.research.google.com/github/{REPO}/blob/main"
# a 1x1 PNG
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA"
                         "hKmMIQAAAABJRU5ErkJggg==")


def _site(tmp_path: Path, pages: dict[str, str]) -> tuple[Path, Path]:
    site, repo = tmp_path / "html", tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "notebooks" / "01_a.ipynb").write_text("{}")
    for name, body in pages.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(f"<!doctype html><html><head><title>t</title></head>"
                                 f"<body>{body}</body></html>")
    (site / "pixel.png").write_bytes(PIXEL)
    return site, repo


def test_static_checks_find_broken_links_anchors_and_launch_buttons(tmp_path):
    site, repo = _site(tmp_path, {
        "index.html": '<meta http-equiv="refresh" content="0; url=a/one.html">',
        "a/one.html": ('<h1 id="top">One</h1><a href="#top">ok</a><a href="two.html#part">ok</a>'
                       '<a href="../pixel.png">ok</a><a href="https://example.org">external</a>'
                       '<a href="missing.html">bad file</a>'
                       '<a href="two.html#nowhere">bad anchor</a>'
                       f'<a href="{COLAB}/notebooks/01_a.ipynb">colab ok</a>'
                       f'<a href="{COLAB}/notebooks/99_gone.ipynb">colab missing</a>'
                       '<a href="https://colab.research.google.com/github/other/repo/blob/main/'
                       'notebooks/01_a.ipynb">colab wrong repo</a>'),
        "a/two.html": '<section id="part"><a href="../index.html">home</a></section>',
    })
    problems, links, launchers = check_book.static_problems(site, repo, REPO)
    assert (links, launchers) == (7, 3)  # the external link is not checked; the redirect's is
    assert sorted(problems) == sorted([
        "a/one.html: link missing.html points at a missing file",
        "a/one.html: link two.html#nowhere points at a missing anchor #nowhere",
        f"a/one.html: launch button {COLAB}/notebooks/99_gone.ipynb opens "
        "'notebooks/99_gone.ipynb', which is not a notebook of the repository",
        "a/one.html: launch button https://colab.research.google.com/github/other/repo/blob/main/"
        f"notebooks/01_a.ipynb is not for {REPO}",
    ])


def test_a_redirect_to_a_missing_page_is_a_broken_link(tmp_path):
    redirect = '<meta http-equiv="refresh" content="0; url=x.html">'
    site, repo = _site(tmp_path, {"index.html": redirect})
    problems, _, _ = check_book.static_problems(site, repo, REPO)
    assert problems == ["index.html: link x.html points at a missing file"]


def test_launch_target_reads_colab_and_binder_addresses():
    colab = f"{COLAB}/notebooks/01_a.ipynb"
    assert check_book.launch_target(colab) == f"{REPO}/notebooks/01_a.ipynb"
    binder = f"https://mybinder.org/v2/gh/{REPO}/main?urlpath=tree/notebooks/01_a.ipynb"
    assert check_book.launch_target(binder) == f"{REPO}/notebooks/01_a.ipynb"
    assert check_book.launch_target("https://example.org/x") is None


@pytest.fixture(scope="module")
def chromium():
    """The system Chromium, installed with apt-get first on a fresh machine (as tools/check_book.py
    does): the browser checks run on every machine, never skipped."""
    try:
        return check_book.ensure_chromium()
    except SystemExit as error:  # not root and no browser: say what to do
        pytest.fail(str(error))


def test_browser_checks_find_errors_broken_images_network_and_undrawn_views(tmp_path, chromium):
    site, _ = _site(tmp_path, {
        "good.html": ('<img src="pixel.png">'
                      '<div id="bertviz-1"><svg>' + "<rect/>" * 6 + "</svg></div>"),
        "bad.html": ('<img src="nothing.png"><script>undefinedFunction()</script>'
                     '<script>console.error("logged")</script>'
                     '<script src="https://example.org/remote.js"></script>'
                     '<div id="bertviz-2"><svg></svg></div>'
                     '<p>gradients: $\\theta_t$ left as text</p><code>echo $HOME</code>'),
        "plain.html": "<p>no views here</p>",
    })
    report = check_book.browser_problems(site, ["good.html", "plain.html"], tmp_path / "shots",
                                         chromium)
    assert (report.pages, report.images, report.views) == (3, 2, 2)
    good = [p for p in report.problems if p.startswith("good.html")]
    bad = " | ".join(p for p in report.problems if p.startswith("bad.html"))
    assert good == []
    assert "image not loaded: nothing.png" in bad
    assert "undefinedFunction is not defined" in bad
    assert "console error: logged" in bad
    assert "asks the network for https://example.org/remote.js" in bad
    assert "bertviz view bertviz-2 not drawn" in bad
    assert "TeX left as text (a $ in the prose): 'gradients: $\\\\theta_t$ left as text'" in bad
    assert "HOME" not in bad  # a $ in code is no TeX
    assert "plain.html: no bertviz view on this page" in report.problems
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == ["bad.png", "good.png",
                                                                       "good__bertviz1.png",
                                                                       "plain.png"]
