"""Open every page of the built book in headless Chromium with no network, and fail on what a
reader would see broken: math left as raw LaTeX, missing images, dead internal links, error
outputs, or errors in the browser console. Saves one screenshot per page.

Usage: python .ci/browser_check.py [_build/html]      (build the book first)
Screenshots go to _build/screenshots/. Chromium is Debian's package (`chromium`).
"""
from __future__ import annotations

import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

SKIP = {"genindex.html", "search.html", "py-modindex.html"}
NO_NETWORK = ["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
CONSOLE = re.compile(r":CONSOLE[:(\d)]*\]? ?\"(?P<msg>.*)\", source: (?P<src>\S+)")
BAD_CONSOLE = ("Uncaught", "Error", "Failed to load", "net::ERR_", "Refused to")


class Links(html.parser.HTMLParser):
    """Collect image sources and link targets, and count math elements and error outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.math = 0
        self.errors = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if "math notranslate" in cls:
            self.math += 1
        if "traceback" in cls or "output_error" in cls or "highlight-ipythontb" in cls:
            self.errors += 1


def chromium() -> str | None:
    """The Chromium binary, if installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def local_target(page: Path, ref: str, root: Path) -> Path | None:
    """The file an internal reference points at, or None for external/anchor-only references."""
    url = urlparse(ref)
    if url.scheme or url.netloc or ref.startswith(("#", "mailto:", "javascript:")):
        return None
    path = unquote(url.path)
    return (page.parent / path).resolve() if path else None


def render(browser: str, page: Path, shot: Path, profile: str) -> tuple[str, list[str]]:
    """The DOM after scripts ran, the console messages, and a screenshot."""
    common = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              f"--user-data-dir={profile}", "--virtual-time-budget=15000", *NO_NETWORK]
    dom = subprocess.run([*common, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    subprocess.run([*common, "--window-size=1280,1600", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, text=True, timeout=120)
    console = [m.group("msg") + " @ " + m.group("src") for m in CONSOLE.finditer(dom.stderr)]
    return dom.stdout, console


def check(root: Path) -> int:
    """Check every page under ``root``; print one line per page and a summary; 1 on failure."""
    browser = chromium()
    if browser is None:
        print("browser check: no Chromium found (install Debian's `chromium` package)")
        return 1
    shots = root.parent / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    pages = sorted(p for p in root.rglob("*.html")
                   if not {"_static", "_sources", "_images"} & set(p.relative_to(root).parts)
                   and p.name not in SKIP)
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as profile:
        for page in pages:
            name = str(page.relative_to(root))
            parsed = Links()
            parsed.feed(page.read_text(encoding="utf-8"))
            problems = []
            for src in parsed.images:
                t = local_target(page, src, root)
                if t is not None and not t.is_file():
                    problems.append(f"missing image {src}")
            for href in parsed.links:
                t = local_target(page, href, root)
                if t is not None and not t.exists():
                    problems.append(f"dead link {href}")
            if parsed.errors:
                problems.append(f"{parsed.errors} error output(s)")
            shot = shots / (name.replace("/", "__").removesuffix(".html") + ".png")
            dom, console = render(browser, page, shot, profile)
            rendered = dom.count("<mjx-container")
            if parsed.math and rendered < parsed.math:
                problems.append(f"math not rendered: {rendered} of {parsed.math} typeset")
            raw = re.findall(r'class="math notranslate nohighlight">\s*(\\\(|\\\[|\$\$)', dom)
            if raw:
                problems.append(f"{len(raw)} math element(s) left as raw LaTeX")
            problems += [f"console: {c}" for c in console if any(b in c for b in BAD_CONSOLE)]
            if not shot.is_file():
                problems.append("no screenshot")
            status = "ok" if not problems else "FAIL"
            print(f"{status:4} {name:<38} math {rendered}/{parsed.math}, images {len(parsed.images)}, "
                  f"links {len(parsed.links)}, console messages {len(console)}")
            for p in problems:
                print(f"       {p}")
                failures.append(f"{name}: {p}")
    print(f"browser check: {len(pages)} pages, {len(failures)} problem(s); screenshots in {shots}")
    return 1 if failures else 0


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html").resolve()
    if not (root / "index.html").is_file():
        sys.exit(f"no built book at {root}; run `jupyter-book build .` first")
    os.environ.setdefault("LANG", "C.UTF-8")
    sys.exit(check(root))
