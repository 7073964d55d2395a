"""`nas compare` and `nas transfer`: cells and baselines trained to the end as Ray Tune trials, one table each."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

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
    assert "imagefolder (3 classes): trained on 72 training images (the full training set), tested on 12 test " \
           "images" in (folder / "summary.md").read_text()
    facts = yaml.safe_load((folder / "campaign.yaml").read_text())["data_facts"]  # what reports say
    assert (facts["dataset"], facts["classes"], facts["train_images"], facts["test_images"]) == ("imagefolder", 3, 72, 12)

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


def _genotype_files(tmp_path):
    """Two different cells of the tiny space as search best.yaml files (with `name:`), and the same two as plain
    one-line files (without), each pair with one file name."""
    from nas.space import load_space
    from nas.space.genotype_files import save_genotype
    from search_fixtures import REPOSITORY

    space = load_space(REPOSITORY / "search_spaces" / "tiny.yaml")
    first, second = (space.decode(space.sample(token)) for token in (0, 1))
    assert first.hash() != second.hash()
    for folder, genotype in (("a", first), ("b", second)):
        save_genotype(tmp_path / folder / "best.yaml", genotype, name=f"{folder}-1")
        (tmp_path / "plain" / folder).mkdir(parents=True)
        (tmp_path / "plain" / folder / "best.yaml").write_text(str(genotype) + "\n")
    return first, second


def test_compare_names_each_cell_once_by_its_name_field_or_its_hash(tmp_path):
    """Two best.yaml files once collided on their stem (`best`) and one row was lost."""
    from nas.evaluation.jobs import comparison_jobs

    first, second = _genotype_files(tmp_path)
    files = [str(tmp_path / folder / "best.yaml") for folder in ("a", "b")]
    plain = [str(tmp_path / "plain" / folder / "best.yaml") for folder in ("a", "b")]
    jobs = comparison_jobs(files, ["resnet20"], seeds=2)
    assert [job.job_id for job in jobs] == ["a-1-seed0", "a-1-seed1", "b-1-seed0", "b-1-seed1", "resnet20-seed0",
                                            "resnet20-seed1"]
    assert [job.cell_hash for job in jobs] == [first.hash()] * 2 + [second.hash()] * 2 + [""] * 2
    assert [job.name for job in comparison_jobs(plain, [], seeds=1)] == [first.hash(), second.hash()]
    # The same cell given twice, under one name or two: one network, named as first given.
    assert [job.name for job in comparison_jobs([files[0], plain[0], files[0], "darts-v2"], [], seeds=1)] == \
        ["a-1", "darts-v2"]
    assert [job.job_id for job in comparison_jobs([], ["resnet20", "resnet20"], seeds=1)] == ["resnet20-seed0"]
    # ... and the summary says so, so a table with fewer rows than cells asked for loses nothing silently
    from nas.evaluation.cell_identity import named_cells, same_cell_lines

    assert same_cell_lines(named_cells([files[0], plain[0], files[0], "darts-v2"])) == [
        f"{plain[0]}, {files[0]} are the same cell as {files[0]} (hash {first.hash()}): trained once, as a-1"]
    assert same_cell_lines(named_cells(files)) == []


def test_compare_refuses_two_networks_with_one_name_before_anything_trains(tmp_path, image_folder, capsys):
    from nas.space.genotype_files import load_genotype, save_genotype

    _genotype_files(tmp_path)
    renamed = tmp_path / "c" / "best.yaml"
    save_genotype(renamed, load_genotype(tmp_path / "b" / "best.yaml"), name="a-1")  # another cell, a's name
    baseline_named = tmp_path / "d" / "best.yaml"
    save_genotype(baseline_named, load_genotype(tmp_path / "b" / "best.yaml"), name="resnet20")
    before = sorted(tmp_path.rglob("*"))
    common = ["--name", "x", "--data", str(image_folder), "--results-dir", str(tmp_path / "results"), *TINY]
    assert main(["compare", "--cells", f"{tmp_path / 'a' / 'best.yaml'},{renamed}", *common]) == 2
    one_line_error(capsys, str(renamed), "both named 'a-1'")
    assert main(["compare", "--cells", str(baseline_named), "--baselines", "resnet20", *common]) == 2
    one_line_error(capsys, "the baseline", "both named 'resnet20'")
    assert sorted(tmp_path.rglob("*")) == before


def test_runs_and_summaries_record_the_cell_hash_and_the_stack_and_old_tables_still_load(tmp_path, monkeypatch):
    import nas.evaluation.job_trial as job_trial
    from nas.cluster.trial_training import TrainedNetwork, TrialSettings
    from nas.evaluation.campaign_summary import campaign_summary_frame
    from nas.evaluation.jobs import JobTable, comparison_jobs
    from nas.train.recipe import load_recipe

    cell, baseline = comparison_jobs(["darts-v2"], ["resnet20"], seeds=1)
    reported = []
    monkeypatch.setattr(job_trial, "train_network", lambda *args, **kwargs: TrainedNetwork(error="stand-in"))
    monkeypatch.setattr(job_trial.tune, "report", reported.append)
    splits = type("Splits", (), {"image_size": 16})()  # all the record needs: which stack the size picks
    for job in (cell, baseline):
        config = {"job": job.to_dict(), "folder": str(tmp_path),
                  "settings": TrialSettings(recipe=load_recipe("proxy").to_dict()).to_dict()}
        job_trial.train_job(config, splits)
    rows = [result["record"] for result in reported]
    assert [(row["hash"], row["stack"]) for row in rows] == [(cell.cell_hash, "cifar"), ("", "")]
    assert len(cell.cell_hash) == 16

    table = JobTable(tmp_path / "new")
    for row in rows:
        table.upsert(job_trial.JobRecord(**{**row, "status": "ok", "test_acc": 0.5}))
    summary = campaign_summary_frame(JobTable(tmp_path / "new")).set_index("name")
    assert summary.loc["darts-v2", "hash"] == cell.cell_hash and summary.loc["resnet20", "hash"] == ""

    old = pd.read_csv(tmp_path / "new" / "runs.csv", dtype=str, keep_default_na=False).drop(columns="hash")
    (tmp_path / "old").mkdir()
    old.to_csv(tmp_path / "old" / "runs.csv", index=False)  # as written before the column existed
    assert [record.hash for record in JobTable(tmp_path / "old").records] == ["", ""]  # not recorded
    assert set(campaign_summary_frame(JobTable(tmp_path / "old"))["hash"]) == {""}


def test_transfer_is_named_by_the_stack_used_and_its_runs_by_the_search_rank(tmp_path, image_folder, monkeypatch):
    """Without --stack the folder was `auto-RECIPE`; with --pareto the runs were numbered within the front, so
    `search-2` was not the search's second cell (best.yaml and top/ number by rank)."""
    import yaml

    import nas.evaluation.campaign as campaign
    from nas.evaluation.jobs import JobTable, TrainingJob

    monkeypatch.setattr(campaign, "run_jobs", lambda jobs, splits, settings, print_line: (JobTable(settings.folder),
                                                                                         False))
    experiment = fake_experiment(tmp_path / "search", [(0.7, 300), (0.65, 400), (0.6, 50)])
    assert main(["transfer", str(experiment), "--top", "2", "--pareto", "--data", str(image_folder), "--recipe",
                 "proxy", *TINY]) == 0
    assert [folder.name for folder in (experiment / "transfer").iterdir()] == ["cifar-proxy"]
    jobs = [TrainingJob(**job) for job in
            yaml.safe_load((experiment / "transfer" / "cifar-proxy" / "campaign.yaml").read_text())["jobs"]]
    trials = TrialStore(experiment).best(3)
    assert [(job.name, job.stack, job.cell_hash) for job in jobs] == [("search-1", "cifar", trials[0].hash),
                                                                     ("search-3", "cifar", trials[2].hash)]


def test_a_second_run_on_other_data_is_refused_naming_what_changed(tmp_path):
    """A rerun with another --test-subset once overwrote campaign.yaml's data facts and mixed two data regimes in
    one table; a rerun on the same data, or of a campaign made before the facts were recorded, goes on."""
    from nas.data.data_facts import DataFacts
    from nas.errors import ConfigError
    from nas.evaluation.campaign import check_same_data
    from nas.evaluation.campaign_folder import CampaignPaths, CampaignSettings

    paths = CampaignPaths(tmp_path / "compare" / "x")
    paths.root.mkdir(parents=True)
    first = DataFacts(dataset="cifar10", classes=10, train_images=5000, val_images=0, test_images=2000, subset=5000)
    settings = CampaignSettings(title="Comparison x", recipe={"name": "proxy"}, jobs=(), data_facts=first)
    paths.campaign.write_text(yaml.safe_dump(settings.to_dict()))
    check_same_data(paths, first)  # the same images: the rerun continues
    with pytest.raises(ConfigError, match="was started on other data \\(test_images 2000 then, 10000 now\\)"):
        check_same_data(paths, DataFacts(**{**first.to_dict(), "test_images": 10000}))
    paths.campaign.write_text(yaml.safe_dump({**settings.to_dict(), "data_facts": None}))
    check_same_data(paths, DataFacts(**{**first.to_dict(), "test_images": 10000}))  # an older folder: no facts
