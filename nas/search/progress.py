"""One line per finished trial: counts, best so far and an ETA from the mean pace."""

from __future__ import annotations

import time
from collections import Counter
from typing import Callable

from nas.run_status import Status
from nas.search.trial_store import TrialRecord, TrialStore


class ProgressPrinter:
    def __init__(self, total: int, store: TrialStore, running: Callable[[], int], print_line=print):
        self.total = total
        self.done = len(store)  # a resumed search counts, and compares with, the trials it already has
        self.started = time.monotonic()
        self.finished_here = 0
        self.running = running
        self.print_line = print_line
        best = store.best(1)
        self.best: float | None = best[0].val_acc if best else None
        # A failed trial is an error (out of memory, a lost worker); a diverged one trained and blew up: a result.
        self.counts = Counter(record.status for record in store.records)

    def __call__(self, record: TrialRecord) -> None:
        self.done += 1
        self.finished_here += 1
        if record.status == Status.OK and record.val_acc is not None:
            self.best = max(self.best or 0.0, record.val_acc)
        self.counts[record.status] += 1
        pace = (time.monotonic() - self.started) / self.finished_here
        eta = format_seconds(pace * (self.total - self.done))
        accuracy = f"{record.val_acc:.3f}" if record.val_acc is not None else "  -  "
        best = f"{self.best:.3f}" if self.best is not None else "-"
        reason = f"  ({record.error})" if record.error and record.status != Status.OK else ""
        self.print_line(
            f"[{self.done:>3}/{self.total}] {record.status:<8} val_acc {accuracy}  best {best}  "
            f"running {self.running()}  {self._failures()}  ETA {eta}  {record.hash}{reason}"
        )

    def _failures(self) -> str:
        diverged = self.counts["diverged"]
        return f"failed {self.counts['failed']}" + (f"  diverged {diverged}" if diverged else "")


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"
