"""The documentation site teaches: a home page with the two-command start and a path for each
reader, cross-references rendered (no raw Sphinx roles), a gallery whose figures exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built as `make docs` builds it (strict: a warning fails), which is why `make test`
    leaves the build to this fixture instead of building the site twice."""
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-3000:]}"
    return out


def test_site_builds_strictly(site: Path):
    assert (site / "index.html").is_file()


def test_no_page_shows_a_raw_sphinx_role(site: Path):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 10
    raw = {str(p.relative_to(site)): m for p in pages
           if (m := re.findall(r":(?:func|mod|class|meth|attr|data|exc|obj):", p.read_text(encoding="utf-8")))}
    assert not raw, raw


def test_api_pages_link_to_each_other(site: Path):
    page = (site / "api" / "experiment" / "index.html").read_text(encoding="utf-8")
    assert page.count('class="autorefs autorefs-internal"') >= 5


def test_home_page_starts_in_two_commands_and_has_a_path_for_each_reader():
    home = (DOCS / "index.md").read_text(encoding="utf-8")
    start = home[home.index("## Start in two commands"):home.index("## Which path")]
    block = re.search(r"```\n(.*?)```", start, re.S)
    assert block and [ln.split()[:2] for ln in block.group(1).splitlines()] == [["make", "demo"], ["make", "test"]]
    for reader in ("sell on Amazon", "research", "teach"):
        assert reader in home
    for topic in ("calibration", "uncertainty", "gallery.md", "cli.md"):
        assert topic in home


def test_gallery_shows_figures_that_exist():
    gallery = (DOCS / "gallery.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", gallery)
    assert len(images) >= 5 and "gallery/lab.png" in images
    for image in images:
        data = (DOCS / image).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 200_000, image
