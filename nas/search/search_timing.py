"""When a search's phases happened, one record per run in `<experiment>/search_timing.json`: the command's start
(the driver process's creation, or when a process that ran before asked for the search), then each phase the
runner marks (data loaded, Ray started, trials started, the search ended) as seconds after it. A resumed search
appends its run and keeps the earlier ones'. The search's cost breakdown (nas.search.search_costs) reads it for the
driver's start: command to first trial.

Wall-clock times are ISO 8601 UTC with milliseconds: the form of trials.csv's finished_at (pandas reads both
alike, people can read them), precise enough for a trial's set-up of tens of milliseconds. On a cluster the
trials' starts come from the workers' clocks, so they are as close as the nodes' clocks are (NTP: milliseconds).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from nas.atomic_files import write_text_atomic
from nas.errors import DataError

TIMING_FILE = "search_timing.json"  # in the experiment folder (nas.search.experiment_folder)
# A command entered this soon after its process was created is the process's own (Python starts in well under 1 s)
FRESH_PROCESS_S = 5.0


def utc_timestamp(seconds: float | None = None) -> str:
    """`seconds` since the epoch (default now) as ISO 8601 UTC with milliseconds."""
    moment = datetime.now(timezone.utc) if seconds is None else datetime.fromtimestamp(seconds, timezone.utc)
    return moment.isoformat(timespec="milliseconds")


@dataclass
class RunTiming:
    """One run of a search (a start or a resume)."""

    command_started: str  # utc_timestamp of the command's start (SearchTiming.since_command)
    workers: int | None = None  # trials at once in this run (resources.workers); None: not recorded
    after_command_s: dict[str, float] = field(default_factory=dict)  # phase -> seconds after command_started

    @property
    def started_seconds(self) -> float:
        return datetime.fromisoformat(self.command_started).timestamp()


class SearchTiming:
    """This run's record. `mark(phase)` as each phase ends; nothing is written until `keep_in(folder)` (a search
    writes nothing into its folder before it holds the folder's lock), then the file is rewritten at every mark."""

    def __init__(self, command_started: float, workers: int | None = None):
        self._started = command_started
        self.run = RunTiming(utc_timestamp(command_started), workers)
        self._earlier: list[RunTiming] = []
        self._folder: Path | None = None

    @classmethod
    def since_command(cls, entered: float, workers: int | None = None) -> "SearchTiming":
        """From when the command started: this process's creation (`python run_search.py`, Python's own start-up
        included) when the command was entered (`entered`, time.time()) right after it, else `entered` itself (the
        command called in a process that was running already: a test, a notebook)."""
        import ray  # noqa: F401 - Ray ships psutil (ray/thirdparty_files) and puts it on sys.path when imported
        import psutil  # here, not at the top: reading a timing record (reports) needs neither Ray nor psutil

        created = psutil.Process().create_time()
        return cls(created if entered - created < FRESH_PROCESS_S else entered, workers)

    def mark(self, phase: str) -> None:
        self.run.after_command_s[phase] = round(time.time() - self._started, 3)
        self._write()

    def keep_in(self, folder) -> None:
        """Write into the experiment folder from now on, after the runs recorded there already."""
        self._folder = Path(folder)
        self._earlier = read_runs(self._folder)
        self._write()

    def _write(self) -> None:
        if self._folder is not None:
            runs = [asdict(run) for run in (*self._earlier, self.run)]
            write_text_atomic(self._folder / TIMING_FILE, json.dumps({"runs": runs}, indent=1) + "\n")


def read_runs(folder) -> list[RunTiming]:
    """The runs recorded in `folder`; none for a search made before they were recorded. A file that does not read
    back (edited by hand) is a DataError naming it."""
    path = Path(folder) / TIMING_FILE
    if not path.is_file():
        return []
    try:
        runs = [RunTiming(**run) for run in json.loads(path.read_text())["runs"]]
        for run in runs:
            run.started_seconds  # noqa: B018 - parses command_started: a garbled one is refused here, not later
        return runs
    except (ValueError, TypeError, KeyError) as error:
        raise DataError(f"{path} is not a search's timing record ({type(error).__name__}: {error}); move it away "
                        f"to start it afresh") from None
