"""One line per finished trial: counts, best so far and an ETA.

The ETA is the trials still to come times the finished trials' mean duration (set-up plus training), divided by
the number running at once. The time since the search started misleads: it includes Ray's start and the data's
loading, and when the first trial finishes the ones beside it are nearly done too (that pace said 9m16s after
the first of 8 trials, two at a time, of a search that took 3.5 minutes)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Callable

from nas.run_status import Status
from nas.search.trial_store import TrialRecord, TrialStore
from nas.train.degenerate import record_degenerate_reason


class ProgressPrinter:
    def __init__(self, total: int, store: TrialStore, running: Callable[[], int], print_line=print):
        self.total = total
        self.done = len(store)  # a resumed search counts, and compares with, the trials it already has
        self.started = time.monotonic()
        self.finished_here = 0
        self.running = running
        self.most_at_once = 1  # the most trials seen running at once, the one just finished included
        self.durations: list[float] = []  # set-up plus training of each trial finished here, where recorded
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
        running = self.running()
        self.most_at_once = max(self.most_at_once, running + 1)
        if record.train_time_s is not None:
            self.durations.append(record.train_time_s + (record.setup_s or 0.0))
        eta = format_seconds(self._pace() * (self.total - self.done))
        accuracy = f"{record.val_acc:.3f}" if record.val_acc is not None else "  -  "
        best = f"{self.best:.3f}" if self.best is not None else "-"
        reason = f"  ({record.error})" if record.error and record.status != Status.OK else ""
        if record.status == Status.OK and record_degenerate_reason(record):
            reason = f"  (degenerate: {record_degenerate_reason(record)})"
        proxy = f"  {record.proxy} {record.proxy_score:.4g}" if record.proxy_score is not None else ""
        self.print_line(
            f"[{self.done:>3}/{self.total}] {record.status:<8} val_acc {accuracy}  best {best}  "
            f"running {running}  {self._failures()}  ETA {eta}  {record.hash}{proxy}{reason}"
        )

    def _pace(self) -> float:
        """Seconds per trial still to come, the workers running at once taken into account."""
        if self.durations:
            return sum(self.durations) / len(self.durations) / self.most_at_once
        return (time.monotonic() - self.started) / self.finished_here  # no trial recorded its time (all failed)

    def _failures(self) -> str:
        diverged = self.counts["diverged"]
        return f"failed {self.counts['failed']}" + (f"  diverged {diverged}" if diverged else "")


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"
