"""The Optuna study's SQLite file, set up so that an ask or a tell costs one disk sync instead of sixty.

Optuna's own `study.ask` commits every suggested parameter on its own (about 55 transactions over the NASNet
space; the adapter now writes a trial in one, `study_database.py`), a tell 2 or 3. In SQLite's default
rollback-journal mode each commit syncs the disk several times (about 13 ms a commit on the 2-core VM of
BENCHMARKS.md), so a trial spent 0.8 s in fsync alone.

Write-ahead logging with `synchronous=NORMAL` commits without syncing; the log is synced at checkpoints. That is
safe against a killed process (a committed transaction is in the OS's cache and survives it) but not against a
power cut, which could roll back the last commits while trials.csv (synced) already names them. So after each
ask and each tell, `sync` forces the log to disk once: the study is as durable at those points as before, which
are the only points the search acts on (it saves the sampler and starts or records a trial right after).

WAL keeps `optuna.db-wal` and `optuna.db-shm` beside the database while it is open, and lets readers on the same
machine (optuna-dashboard) read while the search writes. SQLite's WAL needs shared memory, so it does not work
for a database on a network file system; use a database server (`--optuna-storage postgresql://...`) there.
"""

from __future__ import annotations

import os
from pathlib import Path

import optuna
import sqlalchemy


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's storage for the SQLAlchemy `url`; a SQLite file is opened in WAL mode."""
    storage = optuna.storages.RDBStorage(url)
    if database_file(url) is not None:
        sqlalchemy.event.listen(storage.engine, "connect", _write_ahead_logging)
        storage.engine.dispose()  # drop the connection RDBStorage opened to create its tables: new ones get the pragmas
    return storage


def database_file(url: str) -> Path | None:
    """The file of a `sqlite:///...` URL; None for other databases and in-memory SQLite."""
    parsed = sqlalchemy.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def sync(path: Path | None) -> None:
    """Force the commits so far to the database file at `path` to disk (its write-ahead log; the database file
    itself is synced whenever SQLite folds the log into it). Nothing to do for None (not a SQLite file)."""
    if path is None:
        return
    log = path.with_name(path.name + "-wal")
    try:
        descriptor = os.open(log, os.O_RDONLY)
    except FileNotFoundError:  # nothing written since the log was last folded into the database
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_ahead_logging(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
