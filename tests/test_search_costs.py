"""A search's cost beyond its training steps: the breakdown of worker time from hand-made trial tables (numbers
checked by hand), tables written before the timing columns existed, the search's last line, and the timing record
a resumed search appends to."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from nas.cli import main
from nas.errors import DataError
from nas.search.search_costs import combined, cost_line, cost_table, costs_by_run, run_costs
from nas.search.search_timing import TIMING_FILE, RunTiming, SearchTiming, read_runs, utc_timestamp
from nas.search.trial_store import TrialRecord, TrialStore
from search_fixtures import write_config

COMMAND = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(seconds: float) -> str:
    return (COMMAND + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


# Two workers. Trials t0 and t1 start 10 s after the command; t2 starts on t0's worker 2 s after t0 ended.
# trial: (start, worker_s, setup_s, step_s, eval_s, train_time_s)
SCHEDULE = [(10, 20, 1, 15, 2, 18), (10, 30, 1, 24, 3, 28), (32, 18, 1, 12, 2, 16)]


def timed_trials(schedule=SCHEDULE) -> pd.DataFrame:
    return pd.DataFrame([{"trial_id": f"t{n}", "status": "ok", "started_at": at(start), "worker_s": worker,
                          "setup_s": setup, "step_s": step, "eval_s": evaluation, "train_time_s": train,
                          "finished_at": at(start + worker + 0.4)[:19] + "+00:00"}  # the driver's, to the second
                         for n, (start, worker, setup, step, evaluation, train) in enumerate(schedule)])


def test_worker_time_is_taken_apart_into_steps_evaluation_set_up_rest_and_between_trials():
    costs = run_costs(timed_trials(), workers=2, run=RunTiming(at(0), workers=2, after_command_s={"ray": 6.5}))
    # span 10 s -> 50 s (t2 ends at 32 + 18): 2 workers x 40 s = 80 worker-seconds; 68 of them in trials
    assert (costs.span_s, costs.worker_s, costs.in_trials_s) == (40, 80, 68)
    assert (costs.steps_s, costs.eval_s, costs.setup_s) == (51, 7, 3)
    assert costs.rest_s == 7 and costs.between_s == 12  # 68 - 51 - 7 - 3; 80 - 68
    assert costs.driver_start_s == pytest.approx(10) and costs.phases == {"ray": 6.5} and not costs.missing
    assert costs.medians["training steps"] == 15 and costs.medians["rest of the trials"] == 2
    assert costs.medians["between trials and idle"] == 4  # 12 s over 3 trials
    assert cost_line(costs) == ("worker time: 80 s on 2 workers; training steps 64%, evaluation 9%, set-up 4%, "
                                "rest of the trials 9%, between trials and idle 15%; first trial started 10.0 s "
                                "after the command")
    table = cost_table(costs).set_index("part")
    assert table.loc["between trials and idle", "seconds"] == 12 and table.loc["evaluation", "share"] == "9%"


def test_a_table_written_before_the_timing_columns_gives_what_it_can():
    """No started_at, worker_s or eval_s: trials end at finished_at (to the second) and lasted set-up + trainer."""
    old = timed_trials().drop(columns=["started_at", "worker_s", "eval_s"])
    costs = run_costs(old, workers=2)
    # finished at 30, 40, 50 s; lasted 19, 29, 17 s: span 11 -> 50 s, 78 worker-seconds, 65 in trials
    assert (costs.span_s, costs.worker_s, costs.in_trials_s) == (39, 78, 65)
    assert costs.eval_s is None and costs.rest_s == 11 and costs.between_s == 13  # 65 - 51 - 3: eval inside
    assert costs.driver_start_s is None
    assert any("no eval_s recorded" in reason for reason in costs.missing)
    assert any("driver's start" in reason for reason in costs.missing)
    line = cost_line(costs)
    assert "rest of the trials (evaluation included) 14%" in line and ", evaluation " not in line
    assert "after the command" not in line
    assert cost_table(costs).set_index("part").loc["evaluation", "seconds"] == "not recorded"


def test_a_search_that_is_mostly_overhead_says_so():
    short = [(10, 20, 4, 5, 6, 14), (10, 20, 4, 5, 6, 14)]  # 5 s of steps in 20 s trials
    line = cost_line(run_costs(timed_trials(short), workers=2, run=RunTiming(at(0))))
    assert "training steps 25%" in line and line.endswith(
        ". Mostly overhead: training steps took 25% of the worker time, the rest went on what is listed")
    assert "Mostly overhead" not in cost_line(run_costs(timed_trials(), workers=2))


def test_a_resumed_search_counts_each_run_on_its_own_workers_and_not_the_time_between_runs():
    later = [(1010, 20, 1, 15, 2, 18)]  # resumed 1,000 s after the first command, on one worker
    trials = pd.concat([timed_trials(), timed_trials(later)], ignore_index=True)
    runs = [RunTiming(at(0), workers=2), RunTiming(at(1000), workers=1)]
    by_run = costs_by_run(trials, runs, workers=2)
    assert [run for run, _ in by_run] == runs and [costs.trials for _, costs in by_run] == [3, 1]
    total = combined([costs for _, costs in by_run])
    assert total.worker_s == 80 + 20 and total.steps_s == 66 and total.between_s == 12
    assert total.driver_start_s == pytest.approx(10) and total.workers == 1  # the latest run's


def test_the_timing_record_appends_a_resumed_run_and_refuses_a_garbled_file(tmp_path):
    first = SearchTiming(command_started=1_700_000_000.0, workers=2)
    first.mark("data_loaded")  # before the folder is kept in: held, not written
    assert not (tmp_path / TIMING_FILE).exists()
    first.keep_in(tmp_path)
    first.mark("trials_started")
    second = SearchTiming(command_started=1_700_000_500.0, workers=4)
    second.keep_in(tmp_path)
    runs = read_runs(tmp_path)
    assert [run.workers for run in runs] == [2, 4]
    assert set(runs[0].after_command_s) == {"data_loaded", "trials_started"}
    assert runs[1].command_started == utc_timestamp(1_700_000_500.0) == "2023-11-14T22:21:40.000+00:00"
    assert read_runs(tmp_path / "elsewhere") == []  # a search made before runs were recorded
    (tmp_path / TIMING_FILE).write_text(json.dumps({"runs": [{"command_started": "yesterday"}]}))
    with pytest.raises(DataError, match=TIMING_FILE):
        read_runs(tmp_path)


def test_the_search_ends_with_its_cost_line_and_says_when_it_is_mostly_overhead(tmp_path, image_folder, capsys,
                                                                                monkeypatch):
    from nas.search import runner
    from nas.search.experiment_folder import ExperimentPaths

    folder = tmp_path / "results" / "test"
    store = TrialStore(folder)
    for number, (start, worker, setup, step, evaluation, train) in enumerate([(4, 20, 4, 5, 6, 14)] * 2):
        store.append(TrialRecord(trial_id=f"t{number}", token=number, sampler="random", genotype="g",
                                 hash=f"{number:016x}", choices=[], status="ok", val_acc=0.5, started_at=at(start),
                                 worker_s=worker, setup_s=setup, step_s=step, eval_s=evaluation, train_time_s=train,
                                 finished_at=at(start + worker)))
    SearchTiming(COMMAND.timestamp(), workers=2).keep_in(folder)
    outcome = runner.SearchOutcome(ExperimentPaths(folder), store, best=[])
    monkeypatch.setattr(runner, "run_search", lambda config, **options: outcome)  # the search itself, without Ray
    config = write_config(tmp_path / "c.yaml", image_folder, tmp_path / "results")
    assert main(["search", "--config", str(config)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == ("worker time: 40 s on 2 workers; training steps 25%, evaluation 30%, set-up 20%, rest of the "
                    "trials 25%, between trials and idle 0%; first trial started 4.0 s after the command. Mostly "
                    "overhead: training steps took 25% of the worker time, the rest went on what is listed")


def test_the_command_starts_with_its_process_only_when_the_process_is_its_own():
    """`python run_search.py`: the record counts from the process's creation (Python's start-up included); a search
    asked for in a process that ran before (a test, a notebook) counts from when it was asked."""
    import ray  # noqa: F401 - puts Ray's psutil on the path
    import psutil

    created = psutil.Process().create_time()
    fresh = SearchTiming.since_command(created + 1.0)
    assert fresh.run.command_started == utc_timestamp(created)
    assert SearchTiming.since_command(created + 60.0).run.command_started == utc_timestamp(created + 60.0)
