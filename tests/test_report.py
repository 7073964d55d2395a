"""`nas report`: tables and pictures over searches and comparisons, as markdown, HTML, CSV or LaTeX."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image

from nas.cli import main
from nas.evaluation.campaign_folder import CampaignPaths
from nas.evaluation.jobs import JobRecord, JobTable
from nas.evaluation.campaign_summary import write_summary
from nas.search.trial_store import TrialStore
from search_fixtures import fake_experiment


@pytest.fixture
def folders(tmp_path):
    first = fake_experiment(tmp_path / "search-a", [(0.40, 1000), (0.55, 3000), (0.50, 800), (0.45, 500),
                                                    (0.58, 5000), (0.30, 400), (0.52, 900), (0.49, 700)], "tpe")
    second = fake_experiment(tmp_path / "search-b", [(0.35, 900), (0.60, 2000), (0.41, 600), (0.57, 1500)],
                             "evolution", minutes_apart=3)
    comparison = tmp_path / "compare" / "small"
    table = JobTable(comparison)
    for name, kind, accuracies, params in (("search-a-1", "cell", (0.91, 0.93), 3_000_000),
                                           ("resnet20", "baseline", (0.90, 0.92), 270_000)):
        for seed, accuracy in enumerate(accuracies):
            table.append(JobRecord(f"{name}-seed{seed}", name, kind, seed, "ok", test_acc=accuracy, params=params,
                                   macs=params * 40, epochs=1, train_time_s=60.0, images_per_sec=100.0,
                                   device="cpu (test)", recipe="proxy"))
    write_summary(table, CampaignPaths(comparison), "Comparison small", [])
    (comparison / "campaign.yaml").write_text(yaml.safe_dump({"title": "Comparison small", "recipe": {
        "name": "proxy", "epochs": 1, "batch_size": 64, "lr": 0.1, "channels": 8, "cells": 5},
        "data_facts": {"dataset": "cifar10", "classes": 10, "train_images": 50000, "val_images": 0,
                       "test_images": 10000, "subset": None}}))
    return first, second, comparison


def test_markdown_report_holds_every_table_and_picture(folders, tmp_path):
    out = tmp_path / "report"
    assert main(["report", *map(str, folders), "--out", str(out), "--top", "3"]) == 0
    text = (out / "report.md").read_text()
    for fragment in ("Samplers side by side", "Search search-a: best cells", "Comparison small", "resnet20",
                     "He et al. 2016, Table 6", "91.25", "91.00 ± 1.41", "Published NAS cells", "proxy training"):
        assert fragment in text, fragment
    pictures = [line[line.index("(") + 1:-1] for line in text.splitlines() if line.startswith("![")]
    assert len(pictures) >= 9
    for name in pictures:
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 200
    leaderboard = text.split("Search search-a: best cells")[1]
    assert leaderboard.index("0.58") < leaderboard.index("0.55") < leaderboard.index("0.52")  # best first


def test_pictures_show_one_series_per_search_and_the_baselines(folders, tmp_path):
    out = tmp_path / "report"
    assert main(["report", *map(str, folders), "--out", str(out)]) == 0
    progress = (out / "progress.svg").read_text()
    assert "search-a (tpe)" in progress and "search-b (evolution)" in progress
    assert "search-a" in (out / "accuracy-params.svg").read_text()
    comparison = (out / "compare-small.svg").read_text()
    assert "resnet20" in comparison and "baselines" in comparison and "search-a-1" in comparison


def test_html_report_is_one_self_contained_file(folders, tmp_path):
    out = tmp_path / "html"
    assert main(["report", *map(str, folders), "--format", "html", "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 9 and "<table" in page and "src=\"http" not in page


@pytest.mark.parametrize("fmt, suffix", [("csv", ".csv"), ("latex", ".tex")])
def test_tables_as_files(folders, tmp_path, fmt, suffix):
    out = tmp_path / fmt
    assert main(["report", *map(str, folders), "--format", fmt, "--out", str(out)]) == 0
    assert (out / f"samplers{suffix}").is_file() and (out / f"search-a-leaderboard{suffix}").is_file()
    if fmt == "csv":
        samplers = pd.read_csv(out / "samplers.csv")
        assert list(samplers["sampler"]) == ["tpe", "evolution"] and list(samplers["best_val_acc"]) == [0.58, 0.6]
    else:
        assert r"\begin{tabular}" in (out / "compare-small.tex").read_text()


def test_bad_folders_are_one_line_exit_2_and_write_nothing(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    empty = tmp_path / "new-search"
    TrialStore(empty).replace_all([])
    failed = fake_experiment(tmp_path / "failed-search", [(0.5, 100)])
    TrialStore(failed).replace_all([replace(record, status="failed", val_acc=None)
                                    for record in TrialStore(failed).records])
    for folder, message in ((tmp_path / "empty", "neither a search"), (empty, "no trials yet"),
                            (failed, "no finished trial")):
        assert main(["report", str(folder)]) == 2
        error = capsys.readouterr().err.strip()
        assert message in error and len(error.splitlines()) == 1
        assert not (folder / "report").exists()


def test_every_results_folder_reads_through_the_typed_readers():
    """The searches and campaigns kept in results/ (made by earlier versions) load unchanged: their settings come
    through SavedExperiment and CampaignSettings, and what the report says of them is what they recorded."""
    from nas.analysis.experiment_results import describe_budget, is_campaign, is_search, load_campaign, load_search

    results = Path(__file__).resolve().parents[1] / "results"
    searches = [folder for folder in sorted(results.iterdir()) if is_search(folder)]
    campaigns = [folder for folder in sorted(results.rglob("*")) if folder.is_dir() and is_campaign(folder)]
    assert len(searches) >= 4 and len(campaigns) >= 3
    for folder in searches:
        search = load_search(folder)
        assert search.saved is not None and search.sampler == search.trials["sampler"].iloc[0], folder
        budget = describe_budget(search)
        assert f"{search.saved.epochs} epochs" in budget and "C=?" not in budget and "? cells" not in budget, budget
        if search.saved.data_facts.recorded:  # the searches issue 20 made: the data as recorded, by name
            facts = search.saved.data_facts
            assert f"{facts.train_images:,} training / {facts.val_images:,} validation" in budget, budget
            assert "cifar10 (10 classes)" in budget, budget
    for folder in campaigns:
        campaign = load_campaign(folder)
        assert len(campaign.summary) and {"name", "test_acc_mean", "seeds"} <= set(campaign.summary.columns), folder
        if (folder / "campaign.yaml").is_file():
            assert campaign.recipe.get("epochs") and campaign.title != folder.name, folder
    assert not is_campaign(results / "nasbench201")  # a sampler benchmark's summary.csv is not a campaign's
