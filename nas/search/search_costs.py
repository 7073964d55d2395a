"""What a search's worker time went on, computed only from what it recorded: trials.csv (each trial's start, its
time in the worker, set-up, training steps, evaluation) and search_timing.json (when each run's command started).

Worker time is the workers held (resources.workers) times the span from a run's first trial start to its last
trial end, summed over runs (so the days between a search and its resume are not counted). Of it:

    training steps     step_s
    evaluation         eval_s (batch-norm recalibration included)
    set-up             setup_s: claiming the device, imports, building the network, counting its cost
    rest of the trials worker_s less the three above: format probe, loaders, graph capture, reports to Tune
    between trials     the remainder: Ray Tune starting trials, the sampler, the driver, and idle workers

Tables written before a column existed still give what they can: without started_at/worker_s a trial ends at
finished_at (the driver's clock, to the second) and lasted setup_s + train_time_s; without eval_s the evaluation
stays inside the rest; without a timing record the driver's start is not known. `missing` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from nas.plural import count_of
from nas.search.search_timing import RunTiming, read_runs

MOSTLY_OVERHEAD = 0.5  # training steps under this share of worker time: the search says it is mostly overhead


@dataclass(frozen=True)
class SearchCosts:
    trials: int
    workers: int | None  # of the latest run; None: not recorded
    worker_s: float | None  # None without workers
    span_s: float
    in_trials_s: float
    steps_s: float
    setup_s: float
    eval_s: float | None  # None: no trial recorded it (it is then in rest_s)
    rest_s: float
    driver_start_s: float | None = None  # the latest run's: its command to its first trial's start
    phases: dict[str, float] = field(default_factory=dict)  # the latest run's marks, seconds after its command
    medians: dict[str, float | None] = field(default_factory=dict)  # per candidate
    missing: tuple[str, ...] = ()  # what could not be computed from what was recorded

    @property
    def between_s(self) -> float | None:
        return None if self.worker_s is None else max(self.worker_s - self.in_trials_s, 0.0)

    @property
    def whole_s(self) -> float:
        """What shares are of: worker time, or the trials' own time when the workers were not recorded."""
        return self.worker_s if self.worker_s is not None else self.in_trials_s

    def share(self, seconds: float | None) -> float | None:
        return None if seconds is None or self.whole_s <= 0 else seconds / self.whole_s

    @property
    def mostly_overhead(self) -> bool:
        return (self.share(self.steps_s) or 0.0) < MOSTLY_OVERHEAD

    def parts(self) -> list[tuple[str, float | None]]:
        """(label, seconds) of each part, in the order the line and the table give them."""
        rest = "rest of the trials" if self.eval_s is not None else "rest of the trials (evaluation included)"
        return [("training steps", self.steps_s), ("evaluation", self.eval_s), ("set-up", self.setup_s),
                (rest, self.rest_s), ("between trials and idle", self.between_s)]


def _numbers(trials: pd.DataFrame, column: str) -> pd.Series:
    """A column as floats; all NaN when the table has no such column (written before it existed)."""
    if column not in trials:
        return pd.Series(float("nan"), index=trials.index)
    return pd.to_numeric(trials[column], errors="coerce").astype(float)


def _times(trials: pd.DataFrame, column: str) -> pd.Series:
    if column not in trials:
        return pd.Series(pd.NaT, index=trials.index, dtype="datetime64[ns, UTC]")
    return pd.to_datetime(trials[column].replace("", None), errors="coerce", utc=True, format="ISO8601")


def trial_spans(trials: pd.DataFrame) -> pd.DataFrame:
    """Each trial's `start` and `end` (UTC) and `seconds` in its worker: started_at and worker_s where recorded,
    else (older tables) finished_at less setup_s + train_time_s (either missing counts as 0). Rows with neither
    time are left out; the index is the table's."""
    recorded = _times(trials, "started_at")
    worker = _numbers(trials, "worker_s")
    older = _numbers(trials, "setup_s").fillna(0) + _numbers(trials, "train_time_s").fillna(0)
    seconds = worker.where(recorded.notna() & worker.notna(), older)
    finished = _times(trials, "finished_at")
    start = recorded.where(recorded.notna() & worker.notna(), finished - pd.to_timedelta(seconds, unit="s"))
    end = start + pd.to_timedelta(seconds, unit="s")
    return pd.DataFrame({"start": start, "end": end, "seconds": seconds}).dropna(subset=["start"])


def run_costs(trials: pd.DataFrame, workers: int | None, run: RunTiming | None = None) -> SearchCosts:
    """The breakdown of one run's trials (all of a search's, for a search without timing records)."""
    spans = trial_spans(trials)
    rows = trials.loc[spans.index]
    steps, setup, evaluation = (_numbers(rows, column) for column in ("step_s", "setup_s", "eval_s"))
    span = (spans["end"].max() - spans["start"].min()).total_seconds() if len(spans) else 0.0
    in_trials = float(spans["seconds"].sum())
    eval_s = float(evaluation.sum()) if evaluation.notna().any() else None
    rest = in_trials - float(steps.sum()) - float(setup.sum()) - (eval_s or 0.0)
    worker_s = workers * span if workers else None
    rest_each = spans["seconds"] - steps.fillna(0) - setup.fillna(0) - evaluation.fillna(0)
    medians = {"training steps": steps.median(), "evaluation": evaluation.median(), "set-up": setup.median(),
               "rest of the trials": rest_each.median(), "in the worker": spans["seconds"].median(),
               "between trials and idle": max(worker_s - in_trials, 0.0) / len(spans) if worker_s and len(spans)
               else None}  # a mean: the time between trials is no one trial's
    missing = []
    if not workers:
        missing.append("worker time: workers not recorded, so shares are of the trials' own time")
    if eval_s is None:
        missing.append("evaluation: no eval_s recorded, so it is inside the rest of the trials")
    if _times(rows, "started_at").isna().any() or _numbers(rows, "worker_s").isna().any():
        missing.append("trial starts and ends: no started_at and worker_s recorded, so taken from finished_at (to "
                       "the second) less set-up and trainer time")
    driver_start = None
    if run is None:
        missing.append("the driver's start: not recorded (no search_timing.json)")
    elif len(spans):
        driver_start = spans["start"].min().timestamp() - run.started_seconds
    return SearchCosts(
        trials=len(spans), workers=workers, worker_s=worker_s, span_s=span, in_trials_s=in_trials,
        steps_s=float(steps.sum()), setup_s=float(setup.sum()), eval_s=eval_s, rest_s=rest,
        driver_start_s=driver_start, phases=dict(run.after_command_s) if run else {},
        medians={key: None if value is None or pd.isna(value) else float(value) for key, value in medians.items()},
        missing=tuple(missing))


def costs_by_run(trials: pd.DataFrame, runs: list[RunTiming], workers: int | None) -> list[tuple[RunTiming | None,
                                                                                                  SearchCosts]]:
    """Each run's breakdown, its trials those that started after its command (before the first recorded run:
    a search made, or last resumed, before runs were recorded; `workers` is theirs). Runs with no trial are left
    out."""
    starts = trial_spans(trials)["start"]
    owner = pd.Series(-1, index=starts.index)
    for number, run in enumerate(runs):
        owner[starts >= pd.Timestamp(run.command_started)] = number
    result = []
    for number in sorted(owner.unique()):
        run = runs[number] if number >= 0 else None
        chosen = trials.loc[owner.index[owner == number]]
        result.append((run, run_costs(chosen, (run.workers if run and run.workers else workers), run)))
    return result


def latest_run_costs(folder, trials: pd.DataFrame, workers: int | None) -> SearchCosts | None:
    """The breakdown of the latest run recorded in the experiment `folder` (what a search prints when it ends);
    None when that run trained no trial or no run was recorded."""
    runs = read_runs(folder)
    by_run = costs_by_run(trials, runs, workers)
    if not runs or not by_run or by_run[-1][0] is not runs[-1]:
        return None
    return by_run[-1][1]


def combined(costs: list[SearchCosts]) -> SearchCosts:
    """Several runs as one search: seconds summed, the latest run's workers, driver start and phases; medians
    of the latest run."""
    if len(costs) == 1:
        return costs[0]
    latest = costs[-1]
    worker_times = [cost.worker_s for cost in costs]
    evals = [cost.eval_s for cost in costs if cost.eval_s is not None]
    return SearchCosts(
        trials=sum(cost.trials for cost in costs), workers=latest.workers,
        worker_s=None if None in worker_times else sum(worker_times), span_s=sum(cost.span_s for cost in costs),
        in_trials_s=sum(cost.in_trials_s for cost in costs), steps_s=sum(cost.steps_s for cost in costs),
        setup_s=sum(cost.setup_s for cost in costs), eval_s=sum(evals) if evals else None,
        rest_s=sum(cost.rest_s for cost in costs),
        driver_start_s=latest.driver_start_s, phases=latest.phases, medians=latest.medians,
        missing=tuple(dict.fromkeys(reason for cost in costs for reason in cost.missing)))


def percent(share: float | None) -> str:
    return "not recorded" if share is None else f"{share:.0%}"


def cost_line(costs: SearchCosts) -> str:
    """The search's last line: where worker time went, and how long the driver took to start the first trial."""
    if costs.worker_s is not None:
        whole = f"worker time: {costs.worker_s:,.0f} s on {count_of(costs.workers, 'worker')}"
    else:
        whole = f"time in trials: {costs.in_trials_s:,.0f} s (workers not recorded)"
    shares = ", ".join(f"{label} {percent(costs.share(seconds))}" for label, seconds in costs.parts()
                       if seconds is not None)
    line = f"{whole}; {shares}"
    if costs.driver_start_s is not None:
        line += f"; first trial started {costs.driver_start_s:.1f} s after the command"
    if costs.mostly_overhead:
        line += (f". Mostly overhead: training steps took {percent(costs.share(costs.steps_s))} of the "
                 f"{'worker' if costs.worker_s is not None else 'trial'} time, the rest went on what is listed")
    return line


def cost_table(costs: SearchCosts) -> pd.DataFrame:
    """One row per part: its seconds, its share, and the median per candidate (between trials: the mean)."""
    rows = []
    for label, seconds in costs.parts():
        median = costs.medians.get(label.split(" (")[0])
        rows.append({"part": label, "seconds": "not recorded" if seconds is None else round(seconds, 1),
                     "share": percent(costs.share(seconds)),
                     "per candidate (median)": "not recorded" if median is None else round(median, 2)})
    return pd.DataFrame(rows)
