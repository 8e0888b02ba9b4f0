"""The documentation site: it builds with warnings as errors, has a page for every id, agent and
reproduction, its internal links resolve, and the tutorials' code runs as written.

The site build takes a minute or two: ``pytest -m "not docs"`` skips these tests locally.
"""

from __future__ import annotations

import html.parser
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from papergym.agents import AGENTS
from papergym.experiments import REPRODUCTIONS
from papergym.registration import ENVIRONMENTS, MULTI_AGENT_ENVIRONMENTS

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TUTORIALS = sorted((DOCS / "tutorials").glob("*.md"))


def _sphinx_available() -> bool:
    return all(importlib.util.find_spec(name) for name in ("sphinx", "furo", "myst_parser", "sphinxarg", "m2r2"))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if not _sphinx_available():
        pytest.skip("the docs extra is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    completed = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                                str(DOCS), str(out)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr[-5000:]
    return out


class _Links(html.parser.HTMLParser):
    """Every href and src of a page, and its tables and images."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.images: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table":
            self.tables += 1
        if tag == "img" and attributes.get("src"):
            self.images.append(attributes["src"])
        for name in ("href", "src"):
            if attributes.get(name):
                self.targets.append(attributes[name])


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _text(page: Path) -> str:
    """A page's text without its tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")).split())


def _slug(env_id: str) -> str:
    return env_id.split("/", 1)[-1]


def test_every_id_agent_and_reproduction_has_its_page(site):
    for entry in ENVIRONMENTS + MULTI_AGENT_ENVIRONMENTS:
        page = site / "environments" / "generated" / f"{_slug(entry.id)}.html"
        assert page.is_file(), entry.id
        assert entry.id in page.read_text(encoding="utf-8")
    agents_page = (site / "agents.html").read_text(encoding="utf-8")
    for name in AGENTS:
        assert f'<span class="pre">{name}</span></code>' in agents_page, name
    for name in REPRODUCTIONS:
        page = site / "papers" / "generated" / f"{name}.html"
        assert page.is_file(), name
        assert f"papergym reproduce {name}" in _text(page), name


def test_environment_pages_show_a_picture_and_the_spaces_table(site):
    for entry in ENVIRONMENTS:
        links = _parse(site / "environments" / "generated" / f"{_slug(entry.id)}.html")
        assert links.tables >= 1, entry.id
        assert any(image.endswith(f"/{_slug(entry.id)}.png") for image in links.images), entry.id


def test_every_internal_link_and_image_resolves(site):
    broken = []
    for page in site.rglob("*.html"):
        for target in _parse(page).targets:
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not parts.path:
                continue
            resolved = (page.parent / unquote(parts.path)).resolve()
            if not resolved.exists():
                broken.append(f"{page.relative_to(site)} -> {target}")
    assert not broken, "\n".join(broken[:20])


def test_the_cli_reference_lists_every_command(site):
    from papergym.cli import build_parser

    text = (site / "api" / "cli.html").read_text(encoding="utf-8")
    commands = next(action for action in build_parser()._actions if action.__class__.__name__ == "_SubParsersAction")
    for name in commands.choices:
        assert re.search(rf">\s*{re.escape(name)}\s*<", text), name


def _python_blocks(page: Path) -> str:
    return "\n\n".join(re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M))


@pytest.mark.parametrize("page", TUTORIALS, ids=[page.stem for page in TUTORIALS])
def test_tutorial_code_runs_as_written(page, tmp_path, monkeypatch):
    code = _python_blocks(page)
    if page.stem == "index":
        assert not code
        return
    assert code, f"{page.name} has no python block"
    if "papergym.integrations.ray" in code and importlib.util.find_spec("ray") is None:
        pytest.skip("the ray extra is not installed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = types.ModuleType(f"tutorial_{page.stem}")  # a real module: dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, str(page), "exec"), module.__dict__)


def test_a_browser_opens_the_index_an_environment_page_and_a_paper_page(site):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless browser (chromium) on this machine; the HTML checks above still run")
    pages = {"index.html": "Papers and their reproductions",
             "environments/generated/LQG-v0.html": "Observation space",
             "papers/generated/lqg.html": "The paper"}
    for relative, expected in pages.items():
        dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                              (site / relative).as_uri()], capture_output=True, text=True, timeout=120).stdout
        assert expected in dom, relative
        links = _Links()
        links.feed(dom)
        if relative != "index.html":
            assert links.tables >= 1, relative
        if relative.startswith("environments"):
            assert any(image.endswith(".png") for image in links.images), relative
