"""Files that ship inside the package (spaces, the default experiment, recipes, published cells and results), found through
the package itself so an installed wheel works from any folder. The repository's search_spaces/ points here."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SEARCH_SPACES_DIR = Path(str(files("nas") / "search_spaces"))
RECIPES_DIR = SEARCH_SPACES_DIR / "recipes"
PUBLISHED_CELLS_DIR = SEARCH_SPACES_DIR / "cells"
PUBLISHED_RESULTS_DIR = SEARCH_SPACES_DIR / "published"
DEFAULT_EXPERIMENT = SEARCH_SPACES_DIR / "quick.yaml"
