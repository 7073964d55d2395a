"""Every candidate a search trained, one row each, in `<experiment>/trials.csv` (and trials.parquet).

The driver process is the only writer. Each append rewrites the table under a temporary name and renames it, so a
crash at any moment leaves the previous table or the new one, never a torn row. Tables of a few thousand rows take
milliseconds to rewrite, which is nothing beside training a candidate.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from nas.atomic_files import write_bytes_atomic, write_text_atomic
from nas.samplers import STATUSES


@dataclass
class TrialRecord:
    trial_id: str
    token: int  # the sampler's token, so a resumed search can tell which suggestions have answers
    sampler: str
    genotype: str
    hash: str
    choices: list[int]
    status: str
    val_acc: float | None = None
    val_acc_per_epoch: list[float] = field(default_factory=list)
    params: int | None = None
    macs: int | None = None
    train_time_s: float | None = None
    images_per_sec: float | None = None
    epochs: int | None = None
    device: str = ""
    error: str = ""
    finished_at: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")


COLUMNS = list(TrialRecord.__dataclass_fields__)
LIST_COLUMNS = ("choices", "val_acc_per_epoch")
INT_COLUMNS = ("token", "params", "macs", "epochs")


class TrialStore:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.csv_path = self.directory / "trials.csv"
        self.parquet_path = self.directory / "trials.parquet"
        self._records: list[TrialRecord] = self._read() if self.csv_path.exists() else []

    def _read(self) -> list[TrialRecord]:
        frame = pd.read_csv(self.csv_path, dtype=str, keep_default_na=False)
        records = []
        for row in frame.to_dict("records"):
            for column in LIST_COLUMNS:
                row[column] = json.loads(row[column]) if row[column] else []
            for column in ("val_acc", "train_time_s", "images_per_sec"):
                row[column] = float(row[column]) if row[column] != "" else None
            for column in INT_COLUMNS:
                row[column] = int(row[column]) if row[column] != "" else None
            records.append(TrialRecord(**{key: row[key] for key in COLUMNS}))
        return records

    def __len__(self) -> int:
        return len(self._records)

    @property
    def records(self) -> list[TrialRecord]:
        return list(self._records)

    def by_hash(self) -> dict[str, TrialRecord]:
        return {record.hash: record for record in self._records}

    def append(self, record: TrialRecord) -> None:
        self._records.append(record)
        self._write()

    def frame(self) -> pd.DataFrame:
        rows = []
        for record in self._records:
            row = asdict(record)
            for column in LIST_COLUMNS:
                row[column] = json.dumps(row[column])
            rows.append(row)
        frame = pd.DataFrame(rows, columns=COLUMNS)
        # Whole-number columns stay whole when some rows have no value (pandas would make them floats).
        return frame.astype({column: "Int64" for column in INT_COLUMNS})

    def _write(self) -> None:
        frame = self.frame()
        write_text_atomic(self.csv_path, frame.to_csv(index=False))
        try:
            import pyarrow  # noqa: F401 - parquet is optional
        except ImportError:
            return
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        write_bytes_atomic(self.parquet_path, buffer.getvalue())

    def best(self, count: int = 1) -> list[TrialRecord]:
        finished = [record for record in self._records if record.status == "ok" and record.val_acc is not None]
        return sorted(finished, key=lambda record: -record.val_acc)[:count]
