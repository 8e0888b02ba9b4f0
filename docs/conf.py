"""Sphinx configuration of papergym's documentation site (furo theme, MyST Markdown).

The pages of every environment, agent and paper are generated from the code at build time by
``docs/generate.py``; see ``docs/README.md`` for the build command.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))

import generate  # noqa: E402  (docs/generate.py, beside this file)

import papergym  # noqa: E402

project = "papergym"
author = "the papergym developers"
copyright = "2026, the papergym developers"
release = version = papergym.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "README.md", "papers/results"]  # results: read into the paper pages
html_theme = "furo"
html_title = "papergym"
autodoc_default_options = {"members": True, "show-inheritance": True, "ignore-module-all": True}
# Our docstrings are written in Markdown (the sections of Gymnasium's environments, tables, code spans), as
# the environment pages show them; autodoc reads reStructuredText, so each docstring is converted first.
autodoc_inherit_docstrings = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False


def markdown_docstring(app, what, name, obj, options, lines) -> None:
    """autodoc-process-docstring: a Markdown docstring as reStructuredText, its headings as rubrics."""
    lines[:] = generate.docstring_as_rst("\n".join(lines)).splitlines()


def setup(app):
    app.connect("builder-inited", lambda app: generate.generate_all(DOCS))
    app.connect("autodoc-process-docstring", markdown_docstring)
