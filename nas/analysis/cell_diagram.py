"""`nas show --out`: draw a genotype's cells with graphviz where its `dot` program is installed, else matplotlib."""

from __future__ import annotations

from pathlib import Path

from nas.analysis.cell_diagram_graphviz import graphviz_missing, render_genotype_graphviz
from nas.atomic_files import check_writable_file, write_bytes_atomic
from nas.errors import ConfigError
from nas.space.genotype import Genotype

FORMATS = ("png", "svg", "pdf")
RENDERERS = ("auto", "graphviz", "matplotlib")


def choose_renderer(requested: str = "auto") -> tuple[str, str | None]:
    """The renderer to use and, when 'auto' fell back to matplotlib, why graphviz could not draw."""
    if requested not in RENDERERS:
        raise ConfigError(f"unknown diagram renderer {requested!r}; choose from {', '.join(RENDERERS)}")
    if requested == "matplotlib":
        return "matplotlib", None
    missing = graphviz_missing()
    if missing and requested == "graphviz":
        raise ConfigError(f"cannot draw with graphviz: {missing}")
    return ("matplotlib", missing) if missing else ("graphviz", None)


def render_genotype(genotype: Genotype, fmt: str, title: str | None, renderer: str) -> bytes:
    if renderer == "graphviz":
        return render_genotype_graphviz(genotype, fmt, title)
    # Here, not at the top: matplotlib (about 0.3 s) loads only when graphviz cannot draw or was not asked for.
    from nas.analysis.cell_diagram_matplotlib import render_genotype_matplotlib

    return render_genotype_matplotlib(genotype, fmt, title)


def check_diagram_path(path, what: str = "cannot draw to") -> Path:
    """A diagram's path, once its format is known and its folder writable (checked before anything is drawn)."""
    path = Path(path)
    if path.suffix.lower().lstrip(".") not in FORMATS:
        raise ConfigError(f"{what} {path}: the file name must end in {', '.join('.' + f for f in FORMATS)}")
    check_writable_file(path, what)
    return path


def save_cell_diagram(genotype: Genotype, path, title: str | None = None, renderer: str = "auto"
                      ) -> tuple[Path, str, str | None]:
    """Draw `genotype` to `path` (format from the suffix: .png, .svg or .pdf). Returns the path, the renderer
    used and, when 'auto' fell back to matplotlib, why."""
    path = check_diagram_path(path)
    fmt = path.suffix.lower().lstrip(".")
    used, fallback_reason = choose_renderer(renderer)
    write_bytes_atomic(path, render_genotype(genotype, fmt, title, used))
    return path, used, fallback_reason
