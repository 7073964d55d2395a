"""The report as one document: markdown (pictures beside it) or self-contained HTML (pictures inside it), plus
the tables as CSV or LaTeX files."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nas.atomic_files import write_text_atomic
from nas.markdown_table import markdown_table


@dataclass
class Section:
    title: str
    notes: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    table_name: str = ""  # file stem for csv/latex output
    pictures: list[Path] = field(default_factory=list)  # PNG files


def pngs(paths: list[Path]) -> list[Path]:
    """The PNG of each picture written as PNG and SVG: what a section shows (the SVG is for papers)."""
    return [path for path in paths if path.suffix == ".png"]


def latex_table(frame: pd.DataFrame) -> str:
    def cell(value) -> str:
        text = "" if pd.isna(value) else str(value)
        for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                              ("±", r"$\pm$")):
            text = text.replace(char, escaped)
        return text

    lines = [r"\begin{tabular}{" + "l" * len(frame.columns) + "}", r"\hline",
             " & ".join(cell(column) for column in frame.columns) + r" \\", r"\hline"]
    lines += [" & ".join(cell(value) for value in row) + r" \\" for row in frame.itertuples(index=False)]
    return "\n".join([*lines, r"\hline", r"\end{tabular}"]) + "\n"


def write_markdown(sections: list[Section], title: str, out: Path) -> Path:
    parts = [f"# {title}"]
    for section in sections:
        parts.append(f"## {section.title}")
        parts += [f"- {note}" for note in section.notes]
        if section.table is not None:
            parts.append(markdown_table(section.table))
        parts += [f"![{picture.stem}]({picture.name})" for picture in section.pictures]
    path = out / "report.md"
    write_text_atomic(path, "\n\n".join(parts) + "\n")
    return path


# Clicking a table's header sorts its rows by that column (again: the other way); numbers sort as numbers
# ("91.00 ± 1.41" by its mean, "3,000" as 3000). Inline, so the page needs no network.
SORT_SCRIPT = """
document.querySelectorAll('table.table th').forEach(function (th) {
  th.style.cursor = 'pointer'; th.title = 'click to sort';
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0], column = th.cellIndex;
    var up = th.dataset.order !== 'up'; th.dataset.order = up ? 'up' : 'down';
    var key = function (row) {
      var text = row.cells[column].textContent.trim(), number = parseFloat(text.replace(/,/g, ''));
      return isNaN(number) ? text.toLowerCase() : number;
    };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b), order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0)
        : (typeof x === 'number' ? -1 : 1);
      return up ? order : -order;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""
# Pictures keep their natural size: a wide cell diagram scrolls sideways rather than shrinking to unreadable text.
# The page is as wide as the widest chart with its legend (the progress chart, 1,320 px), so at the 1,400 px of a
# laptop's browser no chart needs a scroll and no legend is cut off.
STYLE = ("body{font-family:sans-serif;max-width:1340px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;"
         "font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}"
         ".picture{overflow-x:auto;max-width:100%}.picture img{max-width:none}")


def write_html(sections: list[Section], title: str, out: Path) -> Path:
    body = [f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.notes:
            body.append("<ul>" + "".join(f"<li>{html.escape(note)}</li>" for note in section.notes) + "</ul>")
        if section.table is not None:
            body.append(section.table.to_html(index=False, na_rep="", border=0, classes="table"))
        for picture in section.pictures:
            data = base64.b64encode(picture.read_bytes()).decode()
            body.append(f'<div class="picture"><img alt="{html.escape(picture.stem)}" '
                        f'src="data:image/png;base64,{data}"></div>')
    document = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                f"<style>{STYLE}</style></head><body>{''.join(body)}<script>{SORT_SCRIPT}</script>"
                f"</body></html>\n")
    path = out / "report.html"
    write_text_atomic(path, document)
    return path


def write_tables(sections: list[Section], out: Path, fmt: str) -> list[Path]:
    written = []
    for section in sections:
        if section.table is None:
            continue
        path = out / f"{section.table_name}.{'csv' if fmt == 'csv' else 'tex'}"
        write_text_atomic(path, section.table.to_csv(index=False) if fmt == "csv" else latex_table(section.table))
        written.append(path)
    return written
