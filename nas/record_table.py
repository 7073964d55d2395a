"""A table of dataclass records in a CSV file (and parquet beside it when pyarrow is installed).

One process writes it. Each append rewrites the file under a temporary name and renames it, so a crash at any
moment leaves the previous table or the new one, never a torn row. Column types come from the dataclass's
annotations: lists and mappings are stored as JSON, whole numbers stay whole when some rows have none (pandas' Int64).
"""

from __future__ import annotations

import dataclasses
import io
import json
import types
import typing
from pathlib import Path
from typing import Generic, TypeVar

import pandas as pd

from nas.atomic_files import write_bytes_atomic, write_text_atomic
from nas.errors import DataError

R = TypeVar("R")


def _kind(annotation) -> str:
    """How a column is stored: list or dict (JSON), int, float, bool or str; `X | None` is X with empty cells."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
        else (annotation,)
    for option in options:
        if option is list or typing.get_origin(option) is list:
            return "list"
        if option is dict or typing.get_origin(option) is dict:
            return "dict"
        for kind in (bool, int, float):  # bool first: it is an int too
            if option is kind:
                return kind.__name__
    return "str"


def _read_list(text: str) -> list:
    value = json.loads(text) if text else []
    if not isinstance(value, list):
        raise ValueError(text)
    return value


def _read_dict(text: str) -> dict:
    value = json.loads(text) if text else {}
    if not isinstance(value, dict):
        raise ValueError(text)
    return value


def _read_bool(text: str) -> bool:
    if text not in ("True", "False"):
        raise ValueError(text)
    return text == "True"


_CONVERT = {"list": _read_list, "dict": _read_dict, "int": int, "float": float, "bool": _read_bool, "str": str}
_KIND_NAMES = {"list": "a JSON list", "dict": "a JSON mapping", "int": "a whole number", "float": "a number",
               "bool": "True or False"}


class RecordTable(Generic[R]):
    def __init__(self, csv_path, record_type: type[R]):
        self.csv_path = Path(csv_path)
        self.parquet_path = self.csv_path.with_suffix(".parquet")
        self.record_type = record_type
        hints = typing.get_type_hints(record_type)
        self.columns = [f.name for f in dataclasses.fields(record_type)]
        self.kinds = {name: _kind(hints[name]) for name in self.columns}
        self._records: list[R] = self._read() if self.csv_path.exists() else []

    def __len__(self) -> int:
        return len(self._records)

    @property
    def records(self) -> list[R]:
        return list(self._records)

    def append(self, record: R) -> None:
        self._records.append(record)
        self._write()

    def replace_all(self, records: list[R]) -> None:
        self._records = list(records)
        self._write()

    def frame(self) -> pd.DataFrame:
        rows = []
        for record in self._records:
            row = dataclasses.asdict(record)
            for column, kind in self.kinds.items():
                if kind in ("list", "dict"):
                    row[column] = json.dumps(row[column])
            rows.append(row)
        frame = pd.DataFrame(rows, columns=self.columns)
        return frame.astype({column: "Int64" for column, kind in self.kinds.items() if kind == "int"})

    def _read(self) -> list[R]:
        """The records in the CSV file; a file edited by hand into something else is a DataError naming the file,
        and for a cell that does not read as its column's type, the row (1 = the first below the header) and the
        column."""
        path = self.csv_path
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:
            raise DataError(f"{path} is empty (not even its header row); the engine never writes it so: restore "
                            f"it from a copy, or move it away to start the table afresh") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
            raise DataError(f"{path} is not a table the engine can read: {reason}") from None
        except OSError as error:
            raise DataError(f"cannot read {path}: {error.strerror}") from None
        required = [f.name for f in dataclasses.fields(self.record_type)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        missing = [column for column in required if column not in frame.columns]
        if missing:
            raise DataError(f"{path} lacks column(s) {', '.join(missing)}; was its header row edited?")
        records = []
        for number, row in enumerate(frame.to_dict("records"), start=1):
            values = {}
            for column in self.columns:
                text, kind = row.get(column, ""), self.kinds[column]
                try:
                    values[column] = _CONVERT[kind](text) if (text != "" or kind in ("list", "dict", "str")) else None
                except ValueError:
                    raise DataError(f"{path}: row {number}, column {column} holds {text!r}, not "
                                    f"{_KIND_NAMES[kind]}") from None
            try:
                records.append(self.record_type(**values))
            except (TypeError, ValueError) as error:
                raise DataError(f"{path}: row {number}: {str(error).splitlines()[0]}") from None
        return records

    def _write(self) -> None:
        frame = self.frame()
        write_text_atomic(self.csv_path, frame.to_csv(index=False))
        try:
            import pyarrow  # noqa: F401  - an optional dependency ([parquet]): importing it is the check
        except ImportError:
            return
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        write_bytes_atomic(self.parquet_path, buffer.getvalue())
