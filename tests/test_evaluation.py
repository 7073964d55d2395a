"""`nas compare` and `nas transfer`: cells and baselines trained to the end as Ray Tune trials, one table each."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from nas.cli import main
from nas.search.trial_store import TrialStore
from search_fixtures import fake_experiment

TINY = ["--epochs", "1", "--batch-size", "16", "--channels", "4"]


pytestmark = pytest.mark.usefixtures("ray_session")  # conftest: Ray shut down when the module ends


def one_line_error(capsys, *fragments):
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    for fragment in fragments:
        assert fragment in error, error


def test_cell_selection_by_accuracy_and_by_the_pareto_front(tmp_path):
    from nas.evaluation.cell_selection import finished_cells, pareto_cells, top_cells

    experiment = fake_experiment(tmp_path / "search", [(0.5, 100), (0.7, 300), (0.6, 50), (0.4, 400)])
    finished = finished_cells(experiment)
    assert [cell.val_acc for cell in top_cells(finished, 2)] == [0.7, 0.6]
    # (0.5, 100) loses to (0.6, 50) on both counts, (0.4, 400) to everything
    assert [(cell.val_acc, cell.params) for cell in pareto_cells(finished, 5)] == [(0.7, 300), (0.6, 50)]


@pytest.mark.parametrize("argv, fragments", [
    (["transfer", "{exp}", "--top", "9"], ["--top 9", "4 finished"]),
    (["transfer", "{empty}"], ["no finished trial"]),
    (["transfer", "{nothing}"], ["no trials.csv"]),
    (["compare", "--baselines", "resnet57", "--name", "x"], ["resnet57", "resnet56"]),
    (["compare", "--cells", "no-such-cell", "--name", "x"], ["no-such-cell"]),
    (["compare", "--name", "x"], ["nothing to compare"]),
    (["compare", "--baselines", "resnet20", "--name", "x", "--data", "{no_test}"], ["no test split"]),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, image_folder, capsys, argv, fragments):
    experiment = fake_experiment(tmp_path / "search", [(0.5, 100), (0.7, 300), (0.6, 50), (0.4, 400)])
    (tmp_path / "empty").mkdir()
    TrialStore(tmp_path / "empty").replace_all([])
    no_test = tmp_path / "no-test"
    shutil.copytree(image_folder / "train", no_test / "train")
    places = {"exp": experiment, "empty": tmp_path / "empty", "nothing": tmp_path / "nothing", "no_test": no_test}
    argv = [part.format(**places) for part in argv]
    if "--data" not in argv:
        argv += ["--data", str(image_folder)]
    before = sorted(path for path in tmp_path.rglob("*"))
    assert main([*argv, "--results-dir", str(tmp_path / "results"), *TINY]) == 2
    one_line_error(capsys, *fragments)
    assert sorted(path for path in tmp_path.rglob("*")) == before


def test_gpus_per_trial_auto_is_resolved_once_ray_runs_before_any_job(tmp_path, image_folder, capsys, monkeypatch):
    """compare --gpus-per-trial auto: after Ray starts, the first job's network is the probe; a cluster without GPUs
    (this machine's local Ray) gives 0 GPUs and one line, and the jobs run with that."""
    import nas.evaluation.campaign as campaign
    from nas.errors import ConfigError
    from nas.evaluation.jobs import comparison_jobs

    probed, given = [], []
    resolve = campaign.resolve_gpu_share

    def resolve_and_note(resources, network, recipe, splits, print_line):
        probed.append(network)
        return resolve(resources, network, recipe, splits, print_line)

    def run_jobs(jobs, splits, settings, print_line):  # stands in for the training: what it would have been given
        given.append(settings.resources)
        raise ConfigError("stopped before training")

    monkeypatch.setattr(campaign, "resolve_gpu_share", resolve_and_note)
    monkeypatch.setattr(campaign, "run_jobs", run_jobs)
    argv = ["compare", "--baselines", "resnet20", "--cells", "darts-v2", "--name", "auto", "--gpus-per-trial", "auto",
            "--data", str(image_folder), "--results-dir", str(tmp_path), *TINY]
    assert main(argv) == 2
    out = capsys.readouterr()
    assert "gpus_per_trial auto: the Ray cluster has no GPU, so networks train on CPUs" in out.out.splitlines()
    assert "stopped before training" in out.err
    first = comparison_jobs(["darts-v2"], ["resnet20"], 1)[0]  # cells come before baselines
    assert [(network.baseline, network.genotype, network.seed) for network in probed] == [(None, first.genotype, 0)]
    assert [(resources.gpus_per_trial, resources.workers, resources.cpus_per_trial) for resources in given] == [(0, 1, 1)]

    given.clear()  # auto and no CPUs: without a GPU a run would have nothing, refused before the jobs
    assert main([*argv, "--cpus-per-trial", "0"]) == 2
    one_line_error(capsys, "a run needs some CPUs or GPUs")
    assert given == []


@pytest.mark.slow  # trains on a local Ray
def test_compare_trains_cells_and_baselines_per_seed_and_a_second_run_trains_nothing(tmp_path, image_folder, capsys):
    argv = ["compare", "--cells", "darts-v2", "--baselines", "resnet20", "--name", "small", "--seeds", "2",
            "--workers", "2", "--depth", "3", "--gpus-per-trial", "auto", "--data", str(image_folder),
            "--results-dir", str(tmp_path), *TINY]
    assert main(argv) == 0
    assert "gpus_per_trial auto: the Ray cluster has no GPU, so networks train on CPUs" in capsys.readouterr().out
    folder = tmp_path / "compare" / "small"
    runs = pd.read_csv(folder / "runs.csv")
    assert sorted(runs["job_id"]) == ["darts-v2-seed0", "darts-v2-seed1", "resnet20-seed0", "resnet20-seed1"]
    assert set(runs["status"]) == {"ok"} and runs["test_acc"].between(0, 1).all() and (runs["params"] > 0).all()
    assert all((folder / job / "checkpoint.pt").is_file() for job in runs["job_id"])
    summary = pd.read_csv(folder / "summary.csv")
    assert sorted(summary["name"]) == ["darts-v2", "resnet20"] and set(summary["seeds"]) == {2}
    darts = runs[runs["name"] == "darts-v2"]["test_acc"]
    assert summary.set_index("name").loc["darts-v2", "test_acc_mean"] == pytest.approx(darts.mean())
    assert "full training set" in (folder / "summary.md").read_text()

    capsys.readouterr()
    assert main(argv) == 0  # the same command again: everything is already there
    assert "4 runs: 4 already finished, 0 to train" in capsys.readouterr().out
    assert pd.read_csv(folder / "runs.csv").equals(runs)


@pytest.mark.slow  # trains on a local Ray
def test_transfer_retrains_the_top_cells_of_a_search(tmp_path, image_folder):
    experiment = fake_experiment(tmp_path / "search", [(0.5, 100), (0.7, 300), (0.6, 50)])
    assert main(["transfer", str(experiment), "--top", "2", "--stack", "cifar", "--depth", "3",
                 "--data", str(image_folder), "--recipe", "proxy", "--test-subset", "6", *TINY]) == 0
    folder = experiment / "transfer" / "cifar-proxy"
    runs = pd.read_csv(folder / "runs.csv")
    best = TrialStore(experiment).best(2)
    assert list(runs.sort_values("name")["model"]) == [cell.genotype for cell in best]
    assert list(runs.sort_values("name")["name"]) == ["search-1", "search-2"]
    assert set(runs["status"]) == {"ok"} and set(runs["stack"]) == {"cifar"}
    # Each row says what its test accuracy rests on, and what nas.train.degenerate reads
    assert set(runs["test_images"]) == {6} and set(runs["num_classes"]) == {3}
    assert runs["top_class_share"].between(1 / 3, 1).all()
    assert "flag" in pd.read_csv(folder / "summary.csv").columns


def test_a_campaign_folder_in_use_by_another_driver_is_refused(tmp_path, image_folder, capsys):
    from nas.cluster.driver_lock import DriverLock

    folder = tmp_path / "compare" / "busy"
    folder.mkdir(parents=True)
    with DriverLock(folder, "busy") as held:
        held.acquire()
        lock_text = (folder / "driver.lock").read_bytes()
        argv = ["compare", "--baselines", "resnet20", "--name", "busy", "--data", str(image_folder),
                "--results-dir", str(tmp_path), *TINY]
        assert main(argv) == 2
        one_line_error(capsys, "being run by another driver")
        assert (folder / "driver.lock").read_bytes() == lock_text and sorted(folder.iterdir()) == [folder / "driver.lock"]
