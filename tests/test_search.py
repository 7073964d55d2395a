"""The search engine end to end on real Ray Tune with a tiny image-folder dataset, plus its pieces without Ray."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from nas.cli import main
from nas.search.experiment_config import load_experiment_config
from nas.search.search_timing import read_runs
from nas.samplers import SAMPLERS, make_sampler
from nas.search.trial_store import TrialRecord, TrialStore
from nas.search.tune_searcher import SamplerSearcher, reconcile_with_store
from nas.space.genotype import Genotype
from nas.space import load_space
from search_fixtures import REPOSITORY, write_config


SAMPLER_NAMES = SAMPLERS.names()

pytestmark = pytest.mark.usefixtures("ray_session")  # conftest: Ray shut down when the module ends


def read_trials(results, name="test") -> pd.DataFrame:
    return pd.read_csv(results / name / "trials.csv", keep_default_na=False)


def record(token: int, genotype: Genotype, status="ok", val_acc=0.5) -> TrialRecord:
    return TrialRecord(trial_id=f"t{token}", token=token, sampler="random", genotype=str(genotype),
                       hash=genotype.hash(), choices=[], status=status, val_acc=val_acc, params=100, macs=1000)


# --- without Ray ----------------------------------------------------------------------------------------------------

def test_store_rows_survive_a_reload(tmp_path):
    space = load_space(REPOSITORY / "search_spaces" / "tiny.yaml")
    genotype = space.decode(space.sample(random.Random(0)))
    store = TrialStore(tmp_path)
    store.append(record(0, genotype))
    store.append(TrialRecord(trial_id="t1", token=1, sampler="random", genotype=str(genotype), hash="x",
                             choices=[1, 2], status="failed", error="ValueError: boom"))
    again = TrialStore(tmp_path)
    assert [r.status for r in again.records] == ["ok", "failed"]
    assert again.records[0] == store.records[0] and again.records[1].error == "ValueError: boom"
    assert again.records[1].val_acc is None and again.records[1].choices == [1, 2]
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_a_cell_already_trained_is_answered_from_the_store(tmp_path):
    space = load_space(REPOSITORY / "search_spaces" / "tiny.yaml")
    seed_sampler = make_sampler("random", space.decisions, seed=5)
    first = space.decode(seed_sampler.ask().choices)
    store = TrialStore(tmp_path)
    store.append(record(99, first, val_acc=0.77))
    sampler = make_sampler("random", space.decisions, seed=5)  # will propose `first` again first
    searcher = SamplerSearcher(sampler=sampler, space=space, store=store, sampler_path=tmp_path / "s.json",
                               budget=2, rerun=[], on_record=lambda r: None)
    config = searcher.suggest("trial-a")
    assert config["hash"] != first.hash()
    assert searcher.answered_from_store == 1
    assert [s.token for s in sampler.pending()] == [config["token"]]  # the duplicate was told, not left pending


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_the_searcher_pickles_with_any_sampler_and_a_copy_rebuilds_it_from_its_file(name, tmp_path, monkeypatch):
    # Tune pickles the search algorithm at tune.Tuner(...); Optuna 5.1's genetic samplers hold a threading.Lock.
    import builtins

    from ray import cloudpickle

    from nas.search.progress import ProgressPrinter

    from nas.samplers import SearchContext, sampler_class

    space = load_space(REPOSITORY / "search_spaces" / "tiny.yaml")
    context = SearchContext(experiment="test", folder=tmp_path)
    options = sampler_class(name).options_for_search({}, context, resume=False)
    sampler = make_sampler(name, space.decisions, seed=3, **options)
    store = TrialStore(tmp_path)
    searcher = SamplerSearcher(sampler=sampler, space=space, store=store, sampler_path=tmp_path / "s.json",
                               budget=4, rerun=[])
    searcher.on_record = ProgressPrinter(4, store, lambda: searcher.running, print)  # as the search sets it
    first = searcher.suggest("trial-a")
    # Ray replaces builtins.print in a driver after its first Tune run (tqdm_ray), so the search's next Tuner would
    # pickle a callback holding a `print` that is no longer builtins.print.
    monkeypatch.setattr(builtins, "print", lambda *args, **kwargs: None)
    copy = cloudpickle.loads(cloudpickle.dumps(searcher))
    assert searcher.sampler is sampler  # the original keeps its live sampler
    assert copy.sampler is not sampler and copy.sampler.name == name
    assert [s.token for s in copy.sampler.pending()] == [first["token"]]  # rebuilt from the saved file (and study)
    assert copy.suggest("trial-b")["token"] != first["token"]


def test_reconcile_tells_rows_and_returns_unanswered(tmp_path):
    space = load_space(REPOSITORY / "search_spaces" / "tiny.yaml")
    sampler = make_sampler("evolution", space.decisions, seed=1)
    answered, unanswered = sampler.ask(), sampler.ask()
    store = TrialStore(tmp_path)
    store.append(record(answered.token, space.decode(answered.choices)))
    rerun = reconcile_with_store(sampler, store)
    assert [s.token for s in rerun] == [unanswered.token]
    assert [s.token for s in sampler.pending()] == [unanswered.token]


def test_progress_counts_diverged_trials_apart_from_failed_ones(tmp_path):
    from nas.search.progress import ProgressPrinter

    space = load_space(REPOSITORY / "search_spaces" / "tiny.yaml")
    genotype = space.decode(space.sample(random.Random(0)))
    store = TrialStore(tmp_path)
    store.append(record(0, genotype, status="failed", val_acc=None))
    lines = []
    printer = ProgressPrinter(4, store, lambda: 1, lines.append)
    printer(record(1, genotype, status="diverged", val_acc=None))
    printer(record(2, genotype, status="failed", val_acc=None))
    assert "failed 1  diverged 1  ETA" in lines[0] and "failed 2  diverged 1  ETA" in lines[1]
    printer(record(3, genotype, val_acc=0.5))
    assert "failed 2  diverged 1  ETA" in lines[2]


def test_a_trial_that_predicted_one_class_is_flagged_on_its_progress_line(tmp_path):
    import dataclasses

    from nas.search.progress import ProgressPrinter

    space = load_space(REPOSITORY / "search_spaces" / "tiny.yaml")
    genotype = space.decode(space.sample(random.Random(0)))
    lines = []
    printer = ProgressPrinter(3, TrialStore(tmp_path), lambda: 0, lines.append)
    printer(dataclasses.replace(record(0, genotype, val_acc=0.1), top_class_share=1.0, num_classes=10))
    printer(dataclasses.replace(record(1, genotype, val_acc=0.45), top_class_share=0.2, num_classes=10))
    printer(record(2, genotype, val_acc=0.1))  # a row of an older table: nothing recorded, nothing flagged
    assert lines[0].endswith("(degenerate: one class predicted (100% of images))")
    assert "degenerate" not in lines[1] and "degenerate" not in lines[2]


def test_a_search_where_no_trial_succeeded_says_there_is_no_best_cell(tmp_path, image_folder, capsys,
                                                                       monkeypatch):
    from nas.search import runner
    from nas.search.experiment_folder import ExperimentPaths

    space = load_space(REPOSITORY / "search_spaces" / "tiny.yaml")
    store = TrialStore(tmp_path / "results" / "test")
    for token in range(2):
        store.append(record(token, space.decode(space.sample(random.Random(token))), status="diverged", val_acc=None))
    outcome = runner.SearchOutcome(ExperimentPaths(tmp_path / "results" / "test"), store, best=[])
    monkeypatch.setattr(runner, "run_search", lambda config, **options: outcome)  # the search itself, without Ray
    config = write_config(tmp_path / "c.yaml", image_folder, tmp_path / "results")
    assert main(["search", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "trials: 2 diverged" in out and "best cell: none, no trial succeeded, so no best.yaml" in out


# --- bad input: one line, exit 2, nothing touched ---------------------------------------------------------------------

@pytest.mark.parametrize("flags, message", [
    (["--sampler", "annealing"], "unknown sampler 'annealing'"),
    (["--trials", "0"], "trials must be a whole number of at least 1"),
    (["--space", "missing.yaml"], "space file 'missing.yaml' not found"),
    (["--recipe", "nope"], "unknown recipe"),
    (["--import", "no_such_module_anywhere"], "cannot import 'no_such_module_anywhere'"),
    (["--val-size", "0"], "data.val_size must be a whole number of at least 1"),
    (["--gpus-per-trial", "lots"], "expected a number or auto, got 'lots'"),
])
def test_bad_flags_exit_2_with_one_line(tmp_path, image_folder, capsys, flags, message):
    config = write_config(tmp_path / "c.yaml", image_folder, tmp_path / "results")
    assert main(["search", "--config", str(config), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "results").exists()


def test_bad_config_files_exit_2(tmp_path, image_folder, capsys):
    config = write_config(tmp_path / "c.yaml", image_folder, tmp_path / "results", epochz=3)
    assert main(["search", "--config", str(config)]) == 2
    assert "unknown key 'epochz'" in capsys.readouterr().err
    broken_space = tmp_path / "broken.yaml"
    broken_space.write_text("blocks: [2\n")
    config = write_config(tmp_path / "c.yaml", image_folder, tmp_path / "results", space=str(broken_space))
    assert main(["search", "--config", str(config)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert main(["search", "--config", str(config), "--resume"]) == 2
    for changes, message in (({"recipe_overrides": {"epochz": 1}}, "epochz"),
                             ({"model": {"stack": "pyramid"}}, "pyramid"),
                             ({"sampler_options": None, "early_stopping": {"reduction_factor": 1}},
                              "early_stopping.reduction_factor")):
        config = write_config(tmp_path / "c.yaml", image_folder, tmp_path / "results", **changes)
        assert main(["search", "--config", str(config)]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_the_old_sampler_keys_are_read_into_sampler_options_with_one_notice(tmp_path, image_folder, capsys):
    from nas.search.experiment_config import move_old_keys

    old = write_config(tmp_path / "old.yaml", image_folder, tmp_path / "results", sampler="nsga2",
                       sampler_options={"population_size": 4}, objective={"cost": "macs"},
                       optuna_storage=f"sqlite:///{tmp_path}/o.db")
    notices = []
    config = load_experiment_config(old, notices=notices)
    assert config.sampler_options == {"population_size": 4, "cost": "macs", "storage": f"sqlite:///{tmp_path}/o.db"}
    assert notices == ["config: optuna_storage and objective.cost are deprecated: read as sampler_options.storage "
                       "and sampler_options.cost now; write them there (a sampler without such an option ignores "
                       "them)"]
    assert "objective" not in config.to_dict() and "optuna_storage" not in config.to_dict()
    # A sampler without such an option ignores them, as it always did; the defaults every old file lists say nothing.
    notices = []
    tpe = load_experiment_config(old, {"sampler": "tpe"}, notices)
    assert tpe.sampler_options == {"population_size": 4, "storage": f"sqlite:///{tmp_path}/o.db"} and notices
    # a shipped experiment written before the keys moved
    saved = yaml.safe_load((REPOSITORY / "results" / "quick-controller" / "experiment.yaml").read_text())["config"]
    assert move_old_keys(saved)[0]["sampler_options"] == {} and set(move_old_keys(saved)[1]) == {
        "optuna_storage", "objective.cost"}
    # Through the command: the notice once on stdout, the error (no such experiment) alone on stderr.
    assert main(["search", "--config", str(old), "--resume", "--name", "never"]) == 2
    out, err = capsys.readouterr()
    assert out == f"nas search: {notices[0]}\n" and len(err.splitlines()) == 1 and "cannot resume" in err


# --- real searches on Ray Tune ---------------------------------------------------------------------------------------

@pytest.mark.slow  # a real search on a local Ray
def test_search_records_every_trial_and_exports_the_best(tmp_path, image_folder, capsys):
    results = tmp_path / "results"
    config = write_config(tmp_path / "c.yaml", image_folder, results, trials=4)
    assert main(["search", "--config", str(config), "--gpus-per-trial", "auto"]) == 0
    out = capsys.readouterr().out
    assert "gpus_per_trial auto: the Ray cluster has no GPU" in out  # auto on a CPU-only machine: 0 GPUs
    trials = read_trials(results)
    assert len(trials) == 4 and set(trials["status"]) == {"ok"}
    assert trials["hash"].is_unique and trials["token"].is_unique
    assert trials["val_acc"].between(0, 1).all() and (trials["params"] > 0).all() and (trials["macs"] > 0).all()
    # What nas.train.degenerate reads: the last validation pass's prediction share and the class count
    assert trials["top_class_share"].between(1 / 3, 1).all() and set(trials["num_classes"]) == {3}
    # Where each candidate ran and where its time went: set-up, then the trainer, of which the steps.
    assert set(trials["node"]) == {"127.0.0.1"}  # a local Ray is on loopback
    assert ((trials["setup_s"] > 0) & (trials["step_s"] > 0) & (trials["step_s"] <= trials["train_time_s"])).all()
    # ... its evaluation, and its whole time in the worker from when it started there
    assert ((trials["eval_s"] > 0) & (trials["step_s"] + trials["eval_s"] <= trials["train_time_s"])).all()
    assert (trials["setup_s"] + trials["train_time_s"] <= trials["worker_s"] + 0.002).all()  # each rounded to ms
    assert (pd.to_datetime(trials["started_at"], utc=True) < pd.to_datetime(trials["finished_at"], utc=True)
            + pd.Timedelta(seconds=1)).all()
    assert out.strip().splitlines()[-1].startswith("worker time: ") and "s after the command" in out
    best = yaml.safe_load((results / "test" / "best.yaml").read_text())
    assert best["val_acc"] == pytest.approx(trials["val_acc"].max())
    assert Genotype.parse(best["genotype"]).hash() == best["hash"]
    assert len(list((results / "test" / "top").glob("*.yaml"))) == 4
    assert "[  4/4]" in out and "best cell:" in out
    facts = yaml.safe_load((results / "test" / "experiment.yaml").read_text())["data_facts"]  # what reports say
    assert facts == {"dataset": "imagefolder", "classes": 3, "train_images": 60, "val_images": 12,
                     "test_images": None, "subset": None}

    # Same experiment again without --resume: refused, and the table is untouched.
    before = (results / "test" / "trials.csv").read_bytes()
    assert main(["search", "--config", str(config)]) == 2
    assert (results / "test" / "trials.csv").read_bytes() == before
    # Resuming with another space is refused too.
    assert main(["search", "--config", str(config), "--resume",
                 "--space", str(REPOSITORY / "search_spaces" / "nasnet.yaml")]) == 2
    assert "made from another search space" in capsys.readouterr().err
    # ... and so is resuming with another seed, which would mix differently trained rows in one table.
    assert main(["search", "--config", str(config), "--resume", "--seed", "5"]) == 2
    assert "cannot resume 'test' with seed = 5" in capsys.readouterr().err
    # A trial that asks for more than the machine has could never start: refused before anything runs.
    assert main(["search", "--config", str(config), "--resume", "--gpus-per-trial", "64"]) == 2
    assert "no trial could ever start" in capsys.readouterr().err
    # Resuming with a larger budget trains only the difference.
    assert main(["search", "--config", str(config), "--resume", "--trials", "6"]) == 0
    trials = read_trials(results)
    assert len(trials) == 6 and trials["hash"].is_unique
    # Each run's command start and phases, the resume's appended (the refused commands wrote none).
    runs = read_runs(results / "test")
    assert len(runs) == 2 and all(set(run.after_command_s) >= {"data_loaded", "ray_started", "trials_started",
                                                                "search_ended"} for run in runs)


@pytest.mark.slow  # a real search on a local Ray
def test_failing_and_diverging_candidates_are_recorded_and_the_search_goes_on(tmp_path, image_folder):
    results = tmp_path / "results"
    # Grouped convolutions cannot split 6 channels... the model raises while being built.
    bad_space = tmp_path / "grouped.yaml"
    bad_space.write_text("name: grouped\nblocks: 1\nops: [group_conv_3x3]\n")
    config = write_config(tmp_path / "c.yaml", image_folder, results, name="fails", space=str(bad_space),
                          trials=2, recipe_overrides={"channels": 5})
    assert main(["search", "--config", str(config)]) == 0
    trials = read_trials(results, "fails")
    assert list(trials["status"]) == ["failed", "failed"] or set(trials["status"]) == {"failed"}
    assert trials["error"].str.len().min() > 0

    config = write_config(tmp_path / "d.yaml", image_folder, results, name="diverges", trials=2,
                          recipe_overrides={"epochs": 2, "batch_size": 16, "lr": 1e12})
    assert main(["search", "--config", str(config)]) == 0
    trials = read_trials(results, "diverges")
    assert len(trials) == 2 and set(trials["status"]) == {"diverged"}
    assert trials["error"].str.contains("NaN").all()


@pytest.mark.slow  # a real search on a local Ray
def test_search_killed_with_sigkill_resumes_without_losing_or_repeating_trials(tmp_path, image_folder):
    results = tmp_path / "results"
    total = 6
    config = write_config(tmp_path / "c.yaml", image_folder, results, name="killed", trials=total,
                          sampler="evolution", sampler_options={"population_size": 3, "sample_size": 2},
                          resources={"workers": 1})
    command = [sys.executable, str(REPOSITORY / "run_search.py"), "--config", str(config)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    csv = results / "killed" / "trials.csv"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if csv.exists() and 2 <= len(pd.read_csv(csv)) < total:
            break
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # the driver and the local Ray it started, all at once
    process.wait()
    done_before = len(pd.read_csv(csv))
    assert 2 <= done_before < total

    finished = subprocess.run(command + ["--resume"], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300, start_new_session=True)
    assert finished.returncode == 0, finished.stderr[-2000:]
    trials = read_trials(results, "killed")
    assert len(trials) == total
    assert trials["hash"].is_unique and trials["token"].is_unique and trials["trial_id"].is_unique
    assert set(trials["status"]) == {"ok"}
    assert f"{done_before} trials done" in finished.stdout


CHUNKS_OF_TWO = """
import sys
from nas.search import tune_run
tune_run.TRIALS_PER_TUNE_RUN = 2
from nas.cli import main
sys.exit(main(["search", "--config", sys.argv[1]]))
"""


@pytest.mark.slow  # a real search on a local Ray, in a driver process of its own
def test_a_search_runs_in_bounded_tune_runs_and_loses_nothing_between_them(tmp_path, image_folder):
    # Tune keeps every trial of a run in the driver: the trials go in chunks of TRIALS_PER_TUNE_RUN per Tuner.fit.
    # A driver process of its own: after a first Tune run, Ray has replaced `print` there (so a second Tuner could
    # not pickle a searcher holding the old one).
    results = tmp_path / "results"
    config = write_config(tmp_path / "c.yaml", image_folder, results, name="chunks", trials=5, sampler="nsga2",
                          sampler_options={"population_size": 2})
    finished = subprocess.run([sys.executable, "-c", CHUNKS_OF_TWO, str(config)], cwd=REPOSITORY,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "[  5/5]" in finished.stdout
    trials = read_trials(results, "chunks")
    assert len(trials) == 5 and trials["hash"].is_unique and trials["token"].is_unique
    assert set(trials["status"]) == {"ok"}
    runs = sorted(path.name for path in (results / "chunks" / "ray").iterdir() if path.is_dir())
    assert len(runs) == 3 and runs[1].endswith("-part1") and runs[2].endswith("-part2")
    import optuna

    study = optuna.load_study(study_name="chunks", storage=f"sqlite:///{results / 'chunks' / 'optuna.db'}").trials
    # Every row was told to the study, and nothing asked was left pending at a chunk's end (a proposal of a cell
    # already trained is answered from the table: COMPLETE in the study without a row of its own).
    assert set(trials["token"]) <= {t.number for t in study if t.state.name == "COMPLETE"}
    assert not [t.number for t in study if t.state.name == "RUNNING"]


@pytest.mark.slow  # a real search, interrupted with Ctrl-C and resumed
def test_ctrl_c_mid_search_keeps_what_finished_says_how_to_resume_and_exits_130(tmp_path, image_folder):
    results = tmp_path / "results"
    total = 6
    config = write_config(tmp_path / "c.yaml", image_folder, results, name="stopped", trials=total,
                          resources={"workers": 1})
    command = [sys.executable, str(REPOSITORY / "run_search.py"), "--config", str(config)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    csv = results / "stopped" / "trials.csv"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (csv.exists() and len(pd.read_csv(csv)) >= 1):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C does: to the driver and all it started
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    done = len(pd.read_csv(csv))
    assert 1 <= done < total
    lines = [line for line in err.splitlines() if line.startswith("nas search:")]
    assert lines == [f"nas search: interrupted after {done} of {total} trials; what finished is kept: continue with "
                     f"python run_search.py --config {config} --resume"], err[-2000:]
    assert "Traceback" not in err

    finished = subprocess.run(command + ["--resume"], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    trials = read_trials(results, "stopped")
    assert len(trials) == total and trials["hash"].is_unique and trials["token"].is_unique


@pytest.mark.slow  # a real search, terminated and resumed
def test_sigterm_mid_search_stops_it_as_ctrl_c_does_with_exit_143(tmp_path, image_folder):
    # ray.init sets a SIGTERM handler of its own (exit 15, nothing said); the engine puts the CLI's back.
    results = tmp_path / "results"
    config = write_config(tmp_path / "c.yaml", image_folder, results, name="termed", trials=4,
                          resources={"workers": 1})
    command = [sys.executable, str(REPOSITORY / "run_search.py"), "--config", str(config)]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    csv = results / "termed" / "trials.csv"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (csv.exists() and len(pd.read_csv(csv)) >= 1):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)  # to the driver alone, as `kill PID` does
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err[-2000:]
    assert [line for line in err.splitlines() if line.startswith("nas search:")] == [
        f"nas search: terminated: what finished is kept: continue with python run_search.py --config {config} "
        f"--resume"], err[-2000:]
    finished = subprocess.run(command + ["--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    trials = read_trials(results, "termed")
    assert len(trials) == 4 and trials["hash"].is_unique and trials["token"].is_unique


def test_config_overrides_and_defaults(tmp_path, image_folder):
    config = load_experiment_config(write_config(tmp_path / "c.yaml", image_folder, tmp_path / "r"),
                                    {"resources.workers": 3, "sampler": "controller", "seed": None})
    assert config.resources.workers == 3 and config.sampler == "controller" and config.seed == 0
    default = load_experiment_config(None)
    assert default.name == "quick" and default.space.endswith("nasnet.yaml")
    assert default.recipe_overrides["channels"] == 8  # the network's size lives in the recipe


@pytest.mark.slow  # a real search on a local Ray
def test_asha_stops_poor_candidates_early_and_records_them_as_pruned(tmp_path, image_folder):
    results = tmp_path / "results"
    # Batch-norm recalibration (the proxy's default) makes every candidate perfect on these easy images from the
    # first epoch, and ASHA has nothing to cut: without it, candidates still differ at the first rung.
    config = write_config(tmp_path / "c.yaml", image_folder, results, name="asha", trials=8,
                          recipe_overrides={"epochs": 4, "batch_size": 16, "bn_recalibration_batches": 0},
                          early_stopping={"asha": True, "grace_period": 1, "reduction_factor": 2})
    assert main(["search", "--config", str(config)]) == 0
    trials = read_trials(results, "asha")
    assert len(trials) == 8 and set(trials["status"]) <= {"ok", "pruned"}
    pruned, finished = trials[trials["status"] == "pruned"], trials[trials["status"] == "ok"]
    assert len(pruned) >= 1 and len(finished) >= 1
    assert (pruned["epochs"] < 4).all() and (finished["epochs"] == 4).all()
    assert pruned["val_acc"].between(0, 1).all() and (pruned["params"] > 0).all()


@pytest.mark.slow  # a real search on a local Ray
def test_a_trial_past_its_time_limit_is_stopped_and_recorded_as_pruned(tmp_path, image_folder):
    results = tmp_path / "results"
    config = write_config(tmp_path / "c.yaml", image_folder, results, name="slow", trials=2,
                          recipe_overrides={"epochs": 3, "batch_size": 16}, trial_time_limit_s=0.001)
    assert main(["search", "--config", str(config)]) == 0
    trials = read_trials(results, "slow")
    assert list(trials["status"]) == ["pruned", "pruned"]
    assert (trials["epochs"] == 1).all() and trials["error"].str.contains("time limit").all()
