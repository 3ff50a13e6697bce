"""The scripts of every page: each one once, and all of them served by the book itself.

Two things this Sphinx extension fixes in the built pages.

**Each script once.** Sphinx 7.4 writes an inline script twice when an extension registers it
after the builder was created (``app.add_js_file(None, body=...)`` in ``builder-inited`` or later):
the builder keeps the copy it was given, with the file name ``None``, and before writing re-adds
every registered script with the name ``""``, and the two compare unequal. sphinx-thebe registers
``const THEBE_JS_URL = ...`` that way, so every page of a Jupyter Book 1.0.4 (which needs Sphinx 7)
raised ``Identifier 'THEBE_JS_URL' has already been declared``; sphinx-togglebutton's selector is
doubled the same way. Sphinx fixed it in 8.2 (pull request 13402), out of Jupyter Book 1's reach,
so ``_unique_scripts`` drops the second copy of any script from each page.

**Offline.** MathJax comes from ``book/_static/vendor/`` (``mathjax_path`` in ``_config.yml``).
Chapter outputs can name scripts on a content delivery network: bertviz's attention views
(chapter 8) load require.js from cdnjs, and ask it for d3 and jQuery there too. ``_localise``
rewrites those addresses in each page's body to the copies under
``book/_static/vendor/`` (versions and checksums in ``VENDORED.txt`` beside them), relative to the
page, so the book also works from a laptop without a connection or from a local file server.

A page that still loads a script from the network after that (in its head or its body) is
reported as a warning, which ``jupyter-book build -W`` turns into a failed build: a new CDN
address is noticed at once instead of breaking quietly for readers offline.
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

# CDN address -> file under _static/ (require.js module paths carry no ".js", as bertviz has them)
REWRITES = {
    "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.6/require.min.js": "vendor/require.js",
    "https://cdnjs.cloudflare.com/ajax/libs/d3/5.7.0/d3.min": "vendor/d3.min",
    "https://cdnjs.cloudflare.com/ajax/libs/jquery/2.0.0/jquery.min": "vendor/jquery.min",
}
REMOTE_SCRIPT = re.compile(r"""<script[^>]*\bsrc=["'](https?:)?//[^"']+""")
REMOTE_MODULE = re.compile(r"""paths\s*:\s*\{[^}]*["'](https?:)?//[^"']+""")


def _unique_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                    doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # the builder's own list: it restores it before the next page
    for script in unique:
        filename = getattr(script, "filename", script) or ""
        if re.match(r"(https?:)?//", filename):
            logger.warning(f"{pagename}: loads {filename} from the network; vendor it under "
                           "book/_static/vendor/", location=pagename)


def _localise(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    body = context.get("body")
    if not body:
        return
    for url, target in REWRITES.items():
        body = body.replace(url, context["pathto"](f"_static/{target}", 1))
    for pattern in (REMOTE_SCRIPT, REMOTE_MODULE):
        match = pattern.search(body)
        if match:
            logger.warning(f"{pagename}: loads a script from the network ({match.group(0)!r}); "
                           "vendor it under book/_static/vendor/ and add it to REWRITES",
                           location=pagename)
    context["body"] = body


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _localise)
    app.connect("html-page-context", _unique_scripts, priority=900)  # after per-page additions
    return {"parallel_read_safe": True, "parallel_write_safe": True}
