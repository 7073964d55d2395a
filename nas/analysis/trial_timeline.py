"""When each trial ran and on which worker: trials as bars on lanes, how busy each lane was, and what the search
cost in CPU- or GPU-hours, from what trials.csv recorded (started_at and worker_s, or in older tables finished_at,
train_time_s and setup_s; node).

No worker id is recorded, so lanes are inferred: on each node, a trial goes on the first lane free when it
started (interval partitioning), which needs as many lanes as trials ever overlapped there."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nas.analysis.experiment_results import SearchResults
from nas.analysis.report_plots import plt, save_figure
from nas.plural import count_of
from nas.run_status import Status
from nas.search.search_costs import trial_spans

# Older tables end a trial at finished_at, recorded to the second by the driver a little after the trial ended: a
# lane's next trial may seem to start up to this long before the previous one ended.
OVERLAP_TOLERANCE_S = 2.0
UNRECORDED_NODE = "node not recorded"  # searches made before trials recorded their node
STATUS_COLOURS = {Status.OK: "tab:blue", Status.PRUNED: "tab:orange", Status.FAILED: "tab:red",
                  Status.DIVERGED: "tab:purple"}


def trial_intervals(trials: pd.DataFrame) -> pd.DataFrame:
    """Each trial's start and end in seconds since the first trial started, with its node and lane; trials without
    a recorded time are left out. Start and end as nas.search.search_costs.trial_spans reads them: started_at and
    worker_s, or in older tables finish - training time - set-up time (either missing counts as 0)."""
    spans = trial_spans(trials)
    node = trials["node"].fillna("").replace("", UNRECORDED_NODE) if "node" in trials else UNRECORDED_NODE
    frame = pd.DataFrame({"trial_id": trials["trial_id"], "status": trials["status"], "node": node}).loc[spans.index]
    origin = spans["start"].min()
    frame["start_s"] = (spans["start"] - origin).dt.total_seconds()
    frame["end_s"] = (spans["end"] - origin).dt.total_seconds()
    frame = frame.sort_values(["node", "start_s"]).reset_index(drop=True)
    frame["lane"] = _lanes(frame)
    return frame


def _lanes(frame: pd.DataFrame) -> list[int]:
    lanes, ends_by_node = [], {}
    for node, start, end in zip(frame["node"], frame["start_s"], frame["end_s"]):
        ends = ends_by_node.setdefault(node, [])
        free = next((lane for lane, busy_until in enumerate(ends) if busy_until <= start + OVERLAP_TOLERANCE_S),
                    None)
        if free is None:
            free = len(ends)
            ends.append(end)
        ends[free] = end
        lanes.append(free)
    return lanes


def lane_usage(intervals: pd.DataFrame) -> pd.DataFrame:
    """One row per lane: its trials, busy and idle seconds within the search's wall time, and the busy share."""
    wall = intervals["end_s"].max() - intervals["start_s"].min()
    rows = []
    for (node, lane), bars in intervals.groupby(["node", "lane"], sort=True):
        busy = float((bars["end_s"] - bars["start_s"]).sum())
        rows.append({"node": node, "lane": int(lane) + 1, "trials": len(bars), "busy_s": round(busy, 1),
                     "idle_s": round(wall - busy, 1), "utilisation": round(busy / wall, 3) if wall > 0 else None})
    return pd.DataFrame(rows)


def _resources(search: SearchResults) -> dict:
    return (search.saved.config if search.saved else {}).get("resources") or {}


def per_trial_resources(search: SearchResults) -> dict[str, float | None]:
    """CPUs and GPUs each trial held, from experiment.yaml; None where not recorded (or a GPU share chosen at run
    time, `auto`, which the experiment file does not hold)."""
    resources = _resources(search)
    held = {}
    for kind in ("cpus", "gpus"):
        value = resources.get(f"{kind}_per_trial")
        held[kind] = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return held


def workers_of(search: SearchResults) -> int | None:
    """Trials at once (resources.workers) as experiment.yaml recorded it; None where not recorded."""
    workers = _resources(search).get("workers")
    return workers if isinstance(workers, int) and not isinstance(workers, bool) and workers > 0 else None


def describe_cost(search: SearchResults, intervals: pd.DataFrame) -> str:
    """Trial-hours (the trials' own time) and lane-hours (lanes held for the whole wall time) in CPU- and
    GPU-hours."""
    trial_hours = float((intervals["end_s"] - intervals["start_s"]).sum()) / 3600
    lanes = intervals.groupby(["node", "lane"]).ngroups
    lane_hours = lanes * (intervals["end_s"].max() - intervals["start_s"].min()) / 3600
    parts = [f"{trial_hours:.2f} trial-hours on {count_of(lanes, 'lane')} over {lane_hours / max(lanes, 1):.2f} wall hours"]
    for kind, per_trial in per_trial_resources(search).items():
        if per_trial is None:
            parts.append(f"{kind} per trial not recorded")
        elif per_trial > 0:
            parts.append(f"{kind[:-1].upper()}-hours: {trial_hours * per_trial:.2f} in trials, "
                         f"{lane_hours * per_trial:.2f} held ({per_trial:g} per trial)")
    return "; ".join(parts)


def plot_timeline(intervals: pd.DataFrame, title: str, stem: Path) -> list[Path]:
    """Each trial a bar on its lane, coloured by how it ended."""
    lanes = intervals[["node", "lane"]].drop_duplicates().sort_values(["node", "lane"]).reset_index(drop=True)
    row_of = {(node, lane): row for row, (node, lane) in enumerate(zip(lanes["node"], lanes["lane"]))}
    figure, axes = plt.subplots(figsize=(10, 0.45 * len(lanes) + 1.6))
    for status, bars in intervals.groupby("status"):
        axes.barh([row_of[key] for key in zip(bars["node"], bars["lane"])], (bars["end_s"] - bars["start_s"]) / 60,
                  left=bars["start_s"] / 60, height=0.6, color=STATUS_COLOURS.get(status, "grey"),
                  edgecolor="white", label=str(status))
    axes.set_yticks(range(len(lanes)), [f"{node} / lane {lane + 1}" for node, lane in zip(lanes["node"],
                                                                                         lanes["lane"])])
    axes.invert_yaxis()
    axes.set_xlabel("wall time since the first trial started (minutes)")
    axes.set_title(title)
    axes.grid(alpha=0.3, axis="x")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # outside: bars fill the lanes
    figure.tight_layout()
    return save_figure(figure, stem)
