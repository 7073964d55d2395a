"""The baselines' table as last counted, read without torch: `nas baselines` prints it in well under a second,
where building all the networks to count them took ten.

The counts never change unless a network's definition does, so they are recorded once, in
nas/models/baseline_table.csv, by `nas baselines --recount` (nas.models.baseline_table counts them), and a test
compares the file with freshly built networks. This module sits at the package's top level, not in nas.models,
whose import loads torch.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from nas.atomic_files import write_text_atomic

RECORDED_TABLE = Path(str(files("nas") / "models" / "baseline_table.csv"))


@dataclass(frozen=True)
class BaselineRow:
    name: str
    scale: str
    params: int  # ours
    published: int | None
    source: str
    paper: str
    description: str
    macs: int | None = None  # ours, counted where the paper publishes multiply-adds
    published_macs: int | None = None
    published_text: str = ""  # as printed ("0.85M")
    published_macs_text: str = ""


COUNT_FIELDS = {"params", "published", "macs", "published_macs"}  # whole numbers; an empty cell is "none"


def read_recorded_rows(path: Path = RECORDED_TABLE) -> list[BaselineRow]:
    """The rows in the order `nas baselines` prints them (CIFAR first, each scale in registration order)."""
    with open(path, newline="") as handle:
        return [BaselineRow(**{key: _read_cell(key, text) for key, text in line.items()})
                for line in csv.DictReader(handle)]


def write_recorded_rows(rows: list[BaselineRow], path: Path = RECORDED_TABLE) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[field.name for field in dataclasses.fields(BaselineRow)],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(dataclasses.asdict(row) for row in rows)
    write_text_atomic(path, buffer.getvalue())


def _read_cell(key: str, text: str):
    if key not in COUNT_FIELDS:
        return text
    return int(text) if text else None


def millions(count: int | None) -> str:
    if count is None:
        return "-"
    if count >= 1e9:
        return f"{count / 1e9:.3f}G"
    return f"{count / 1e6:.3f}M" if count >= 1e5 else f"{count / 1e3:.1f}K"
