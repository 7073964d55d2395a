"""Issue 20, "Results you can trust": the report says only what the runs recorded (dataset, classes, image counts,
seeds), published numbers only beside runs on their data, and its pictures are readable."""

from __future__ import annotations

import re

import matplotlib
import pandas as pd
import pytest
import yaml

from nas.analysis import report_plots
from nas.analysis.cell_diagram_matplotlib import CellLayout, route_cell
from nas.analysis.cell_graph import CellGraph
from nas.analysis.experiment_results import describe_budget, load_campaign, load_search
from nas.analysis.published_results import nasbench201_published
from nas.analysis.published_table import check_published_cifar10, published_cell, read_published_cifar10
from nas.cli import main
from nas.data import make_splits
from nas.data.data_facts import DataFacts
from nas.errors import ConfigError
from nas.evaluation.campaign_folder import CampaignPaths, CampaignSettings
from nas.evaluation.campaign_summary import campaign_summary_frame, readable_summary, write_summary
from nas.evaluation.jobs import JobRecord, JobTable
from nas.models import resolve_genotype_for_model
from nas.package_files import PUBLISHED_RESULTS_DIR
from nas.search.experiment_folder import ExperimentPaths, SavedExperiment
from nas.search.trial_store import TrialStore
from search_fixtures import REPOSITORY, fake_experiment, learnable_dataset, write_config

CIFAR10 = {"dataset": "cifar10", "classes": 10, "train_images": 50000, "val_images": 0, "test_images": 10000,
           "subset": None}
THREE_CLASSES = {"dataset": "imagefolder", "classes": 3, "train_images": 1500, "val_images": 0, "test_images": 300,
                 "subset": 1500}


def write_experiment_yaml(folder, data_facts: dict | None, subset=2000, epochs=2):
    document = {"config": {"sampler": "random", "seed": 3, "data": {"dataset": "cifar10", "subset": subset}},
                "recipe": {"epochs": epochs, "channels": 8, "cells": 5}}
    if data_facts is not None:
        document["data_facts"] = data_facts
    (folder / "experiment.yaml").write_text(yaml.safe_dump(document))


def make_campaign(folder, data_facts: dict | None, seeds=2, names=(("search-a-1", "cell", 3_000_000),
                                                                   ("resnet20", "baseline", 270_000)), epochs=2):
    table = JobTable(folder)
    for name, kind, params in names:
        for seed in range(seeds):
            table.append(JobRecord(f"{name}-seed{seed}", name, kind, seed, "ok", test_acc=0.31 + 0.02 * seed,
                                   params=params, macs=params * 40, epochs=epochs, train_time_s=60.0,
                                   images_per_sec=100.0, device="cpu (test)", recipe="proxy"))
    facts = DataFacts.from_dict(data_facts)
    write_summary(table, CampaignPaths(folder), f"Comparison {folder.name}", [], facts)
    jobs = tuple({"name": name, "seed": seed} for name, _, _ in names for seed in range(seeds))
    settings = CampaignSettings(title=f"Comparison {folder.name}", recipe={"name": "proxy", "epochs": epochs},
                                jobs=jobs, data_facts=facts)
    document = settings.to_dict()
    if data_facts is None:  # a campaign made before the facts were recorded
        document.pop("data_facts")
    (folder / "campaign.yaml").write_text(yaml.safe_dump(document))
    return folder


# --- the data facts: recorded when a run starts, read back through the typed readers --------------------------


def test_data_facts_of_a_split_name_the_dataset_classes_and_image_counts():
    splits = make_splits(learnable_dataset(count=400, classes=4), purpose="search", val_size=40, subset=200)
    facts = DataFacts.of(splits, subset=200)
    assert facts == DataFacts(dataset="levels", classes=4, train_images=160, val_images=40, test_images=None,
                              subset=200)
    assert facts.describe_training() == "160 training / 40 validation images (a class-balanced subset)"
    assert DataFacts.from_dict(facts.to_dict()) == facts


def test_experiment_file_records_the_data_facts_and_older_files_read_as_not_recorded(tmp_path):
    from nas.search.experiment_config import load_experiment_config
    from nas.search.experiment_folder import write_experiment_file
    from nas.space import load_space
    from nas.train.recipe import load_recipe

    config = load_experiment_config(write_config(tmp_path / "x.yaml", tmp_path, tmp_path / "results", name="x"))
    paths = ExperimentPaths(tmp_path / "results" / "x")
    paths.root.mkdir(parents=True)
    facts = DataFacts(dataset="cifar10", classes=10, train_images=1600, val_images=400, subset=2000)
    write_experiment_file(paths, config, load_space(config.space), load_recipe("proxy"), facts)
    assert SavedExperiment.read(paths).data_facts == facts
    write_experiment_yaml(paths.root, None)
    old = SavedExperiment.read(paths).data_facts
    assert not old.recorded and old.describe_dataset() == "dataset not recorded"


def test_campaign_file_records_the_data_facts_and_seeds(tmp_path):
    folder = make_campaign(tmp_path / "c", CIFAR10, seeds=2)
    settings = CampaignSettings.read(CampaignPaths(folder))
    assert settings.data_facts == DataFacts(**CIFAR10) and settings.seeds == [0, 1]
    old = make_campaign(tmp_path / "old", None)
    assert CampaignSettings.read(CampaignPaths(old)).data_facts == DataFacts()


# --- the report states what was recorded -------------------------------------------------------------------


def test_search_line_states_the_recorded_split_not_the_subset_asked_for(tmp_path):
    folder = fake_experiment(tmp_path / "s", [(0.4, 1000), (0.5, 2000)])
    write_experiment_yaml(folder, {"dataset": "cifar10", "classes": 10, "train_images": 1600, "val_images": 400,
                                   "test_images": None, "subset": 2000})
    budget = describe_budget(load_search(folder))
    assert "1,600 training / 400 validation images (a class-balanced subset) of cifar10 (10 classes)" in budget
    assert "2000 training images" not in budget and "seed 3" in budget
    write_experiment_yaml(folder, None)
    assert "image counts not recorded" in describe_budget(load_search(folder))


def test_summary_and_report_state_a_subset_not_the_full_training_set(tmp_path):
    folder = make_campaign(tmp_path / "compare" / "three", THREE_CLASSES)
    summary = (folder / "summary.md").read_text()
    assert "full training set" not in summary
    assert "imagefolder (3 classes): trained on 1,500 training images (a class-balanced subset)" in summary
    out = tmp_path / "report"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "full training set" not in text and "1,500 training images (a class-balanced subset)" in text
    assert "seeds: 0, 1" in text


def test_published_numbers_only_beside_runs_on_cifar10(tmp_path):
    three = make_campaign(tmp_path / "compare" / "three", THREE_CLASSES)
    out = tmp_path / "three-report"
    assert main(["report", str(three), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "He et al. 2016" not in text and "Published NAS cells" not in text
    assert "published numbers left out: they were measured on CIFAR-10 (10 classes), this campaign on " \
           "imagefolder (3 classes)" in text
    assert "papers' full training" not in (out / "compare-three.svg").read_text()

    cifar = make_campaign(tmp_path / "compare" / "cifar", CIFAR10)
    out = tmp_path / "cifar-report"
    assert main(["report", str(cifar), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "He et al. 2016, Table 6" in text and "Published NAS cells" in text
    assert "not comparable, shown for scale only" in text  # 2 epochs against the papers' hundreds
    assert "published (papers' full training)" in (out / "compare-cifar.svg").read_text()


def test_darts_v2_in_a_comparison_gets_its_published_accuracy(tmp_path):
    folder = make_campaign(tmp_path / "compare" / "darts", CIFAR10, names=(("darts-v2", "cell", 3_300_000),))
    out = tmp_path / "report"
    assert main(["report", str(folder), "--format", "csv", "--out", str(out)]) == 0
    table = pd.read_csv(out / "compare-darts.csv")
    assert table.loc[0, "published test accuracy (%)"] == 97.24
    assert table.loc[0, "published source"] == "Liu et al. 2019, Table 1"


def test_unfinished_trials_are_broken_down_by_status_and_reason(tmp_path):
    folder = fake_experiment(tmp_path / "s", [(0.4, 1000), (0.5, 2000), (0.3, 900), (0.2, 800)])
    store = TrialStore(folder)
    records = store.records
    records[1] = records[1].__class__(**{**records[1].__dict__, "status": "failed", "val_acc": None,
                                         "error": "CUDA out of memory"})
    records[2] = records[2].__class__(**{**records[2].__dict__, "status": "diverged", "val_acc": None,
                                         "error": "loss became nan"})
    records[3] = records[3].__class__(**{**records[3].__dict__, "status": "pruned", "val_acc": None, "error": ""})
    store.replace_all(records)
    out = tmp_path / "report"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    section = (out / "report.md").read_text().split("trials that did not finish")[1]
    for fragment in ("3 trials of 4", "| failed | CUDA out of memory | 1 |", "| diverged | loss became nan | 1 |",
                     "| pruned | no reason recorded | 1 |"):
        assert fragment in section, fragment


# --- published files --------------------------------------------------------------------------------------


def test_every_published_file_matches_its_schema():
    files = sorted(PUBLISHED_RESULTS_DIR.glob("*.yaml"))
    assert [path.name for path in files] == ["cifar10.yaml", "nasbench201.yaml"]  # a new file needs its check
    document = read_published_cifar10(files[0])
    assert all("," not in row["method"] or "(" in row["method"] for row in document["nas_cells"])
    assert "AmoebaNet-A (N=6, F=36)" in [row["method"] for row in document["nas_cells"]]
    assert len(nasbench201_published("cifar10", files[1])) == 4


def test_a_row_broken_by_an_unquoted_comma_is_refused(tmp_path):
    text = (PUBLISHED_RESULTS_DIR / "cifar10.yaml").read_text().replace('"AmoebaNet-A (N=6, F=36)"',
                                                                        "AmoebaNet-A (N=6, F=36)")
    broken = tmp_path / "cifar10.yaml"
    broken.write_text(text)
    with pytest.raises(ConfigError, match="AmoebaNet-A \\(N=6.*needs exactly the keys"):
        read_published_cifar10(broken)
    document = read_published_cifar10()
    for row, key, value in ((document["baselines"]["resnet20"], "test_error", 150),
                            (document["baselines"]["resnet20"], "source", "Someone 2030"),
                            (document["nas_cells"][0], "params_m", "3.3M")):
        changed = yaml.safe_load(yaml.safe_dump(document))
        target = changed["baselines"]["resnet20"] if row is document["baselines"]["resnet20"] else \
            changed["nas_cells"][0]
        target[key] = value
        with pytest.raises(ConfigError):
            check_published_cifar10(changed, "x.yaml")


def test_every_published_cell_in_the_registry_has_its_published_row():
    cells = sorted(path.stem for path in (REPOSITORY / "nas" / "search_spaces" / "cells").glob("*.yaml"))
    assert cells and all(published_cell(name) for name in cells), [name for name in cells
                                                                   if not published_cell(name)]
    assert round(100 - published_cell("darts-v2")["test_error"], 2) == 97.24


# --- one seed: a mean, not a spread of zero ----------------------------------------------------------------


def test_one_seed_prints_the_value_alone_and_n1(tmp_path):
    folder = make_campaign(tmp_path / "compare" / "one", CIFAR10, seeds=1)
    summary = campaign_summary_frame(JobTable(folder))
    assert summary["test_acc_std"].isna().all()
    readable = readable_summary(summary)
    assert list(readable["test accuracy (%)"]) == ["31.00 (n=1)", "31.00 (n=1)"]
    old = summary.assign(test_acc_std=0.0)  # older summaries wrote 0 for one seed
    assert "±" not in "".join(readable_summary(old)["test accuracy (%)"])
    two = readable_summary(campaign_summary_frame(JobTable(make_campaign(tmp_path / "compare" / "two", CIFAR10))))
    assert two["test accuracy (%)"][0] == "32.00 ± 1.41"


# --- pictures ---------------------------------------------------------------------------------------------


@pytest.fixture
def captured(monkeypatch):
    """The figures the plot functions draw, kept open instead of saved."""
    figures = []
    monkeypatch.setattr(report_plots, "save_figure", lambda figure, stem: figures.append(figure) or [])
    yield figures
    for figure in figures:
        matplotlib.pyplot.close(figure)


def _legend_clear_of_axes(figure) -> bool:
    figure.canvas.draw()
    for axes in figure.axes:
        legend = axes.get_legend()
        if legend is not None and legend.get_window_extent().overlaps(axes.get_window_extent()):
            return False
    return True


def _search(tmp_path, name, points, classes=10):
    folder = fake_experiment(tmp_path / name, points)
    write_experiment_yaml(folder, {**CIFAR10, "classes": classes, "val_images": 400})
    return load_search(folder)


def test_legends_sit_outside_the_axes(tmp_path, captured):
    searches = [_search(tmp_path, "a", [(0.100, 1000), (0.102, 2000), (0.101, 1500)])]
    report_plots.plot_accuracy_against_cost(searches, "params", tmp_path / "p")
    report_plots.plot_progress(searches, tmp_path / "q")
    report_plots.plot_op_distribution(searches[0], 1, tmp_path / "o")
    campaign = load_campaign(make_campaign(tmp_path / "compare" / "c", CIFAR10))
    report_plots.plot_comparison(campaign.summary, "c", tmp_path / "c", campaign.data_facts)
    assert len(captured) == 4 and all(_legend_clear_of_axes(figure) for figure in captured)


def test_accuracy_axes_show_chance_and_never_a_tiny_range(tmp_path, captured):
    searches = [_search(tmp_path, "a", [(0.100, 1000), (0.102, 2000), (0.103, 1500)], classes=10)]
    report_plots.plot_accuracy_against_cost(searches, "params", tmp_path / "p")
    axes = captured[0].axes[0]
    low, high = axes.get_ylim()
    assert high - low >= report_plots.MIN_ACCURACY_SPAN - 1e-9 and low <= 0.1
    assert any(line.get_label() == "chance (1/10)" and line.get_ydata()[0] == pytest.approx(0.1)
               for line in axes.get_lines())


def test_identical_searches_are_named_in_the_legend_and_drawn_apart(tmp_path, captured):
    points = [(0.4, 1000), (0.5, 2000)]
    searches = [_search(tmp_path, "first", points), _search(tmp_path, "second", points)]
    report_plots.plot_accuracy_against_cost(searches, "params", tmp_path / "p")
    labels = [text.get_text() for text in captured[0].axes[0].get_legend().get_texts()]
    assert "second (same points as first)" in labels
    markers = {collection.get_paths()[0].vertices.tobytes() for collection in captured[0].axes[0].collections}
    assert len(markers) == 2


def test_no_empty_series_no_bars_for_one_seed_and_counts_agree(tmp_path, captured):
    campaign = load_campaign(make_campaign(tmp_path / "compare" / "c", CIFAR10, seeds=1,
                                           names=(("search-a-1", "cell", 3_000_000),)))
    report_plots.plot_comparison(campaign.summary, "c", tmp_path / "c", campaign.data_facts)
    labels = [text.get_text() for text in captured[0].axes[0].get_legend().get_texts()]
    assert not any("baselines" in label for label in labels)
    assert any("n=1" in label for label in labels)
    search = _search(tmp_path, "a", [(0.4, 1000), (0.5, 2000), (0.3, 900), (0.2, 800)])
    report_plots.plot_op_distribution(search, 1, tmp_path / "o")
    labels = [text.get_text() for text in captured[1].axes[0].get_legend().get_texts()]
    assert "top 1 cell" in labels and "all 4 trained cells" in labels


def test_input_detours_do_not_pass_the_other_input():
    """A detour of c_{k-1} must not rise past c_{k-2} (it crossed c_{k-2}'s edges where they start, and read as
    one of them), nor one of c_{k-2} drop past c_{k-1}."""
    for name in ("darts-v1", "darts-v2", "nasnet-a", "amoebanet-a", "enas", "pnasnet-5"):
        genotype = resolve_genotype_for_model(name)
        for cell in (genotype.normal, genotype.reduce):
            graph = CellGraph.of(cell)
            layout = CellLayout.of(graph)
            connections, _, _ = route_cell(graph, layout)
            first, second = layout.nodes[0], layout.nodes[1]
            for connection in connections:
                start = connection.points[0]
                if len(connection.points) == 2 or start[0] != second.x + second.half_width:
                    continue
                rise = connection.points[2][1]
                if start[1] == second.y:
                    assert rise < second.y, (name, "c_{k-1} detours up past c_{k-2}")
                if start[1] == first.y:
                    assert rise > first.y, (name, "c_{k-2} detours down past c_{k-1}")


def test_html_report_sorts_tables_scrolls_wide_pictures_and_links_nothing(tmp_path):
    search = fake_experiment(tmp_path / "s", [(0.4, 1000), (0.5, 2000), (0.45, 1500)])
    write_experiment_yaml(search, CIFAR10)
    campaign = make_campaign(tmp_path / "compare" / "c", CIFAR10)
    out = tmp_path / "html"
    assert main(["report", str(search), str(campaign), "--format", "html", "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "://" not in page and not re.search(r"""(src|href)=["'](?!data:)""", page)  # self-contained
    assert "<script>" in page and "addEventListener('click'" in page and "sort(" in page
    assert "img{max-width:100%}" not in page and "overflow-x:auto" in page
    assert (out / "s-cell-1.svg").is_file() and (out / "s-cell-1.png").is_file()


def test_the_leaderboard_and_the_samplers_table_flag_degenerate_trials(tmp_path):
    from nas.analysis.report_tables import leaderboard, sampler_summary

    search = load_search(fake_experiment(tmp_path / "s", [(0.1, 1000), (0.45, 2000), (0.3, 900)]))
    search.trials["num_classes"] = 10
    search.trials["top_class_share"] = [1.0, 0.2, 0.15]  # the first trial put every image in one class
    board = leaderboard(search, top=3)
    assert list(board["flag"]) == ["", "", "one class predicted (100% of images)"]
    assert sampler_summary([search])["degenerate"].tolist() == [1]
    search.trials = search.trials.drop(columns=["num_classes", "top_class_share"])  # an older table
    assert list(leaderboard(search, top=3)["flag"]) == ["", "", ""]


def test_an_image_folder_holding_exactly_cifar10_is_recorded_as_cifar10():
    """The shared CIFAR-10 JPEGs load as an image folder; published CIFAR-10 numbers are about those images, so
    the facts say cifar10. Anything else keeps its source's name."""
    from types import SimpleNamespace

    from nas.data.splits import CIFAR10_CLASSES, recognised_dataset

    def folder(classes=CIFAR10_CLASSES, train=50_000, test=10_000, size=32):
        return SimpleNamespace(name="imagefolder", classes=list(classes), train=range(train), test=range(test),
                               image_size=size)

    assert recognised_dataset(folder()) == "cifar10"
    assert recognised_dataset(folder(train=5_000)) == "imagefolder"  # a part of it is not the published set
    assert recognised_dataset(folder(classes=CIFAR10_CLASSES[:5], train=25_000, test=5_000)) == "imagefolder"
    assert recognised_dataset(folder(size=64)) == "imagefolder"


def test_comparison_labels_overprint_nothing_and_sizes_far_apart_get_a_log_axis(tmp_path, captured):
    """The shipped comparison printed quick-tpe-1 over resnet20 and crowded proxies of 40k parameters into a
    corner beside published networks of 3.3M: each label now finds a free place by its point."""
    crowded = (("search-a-1", "cell", 146_000), ("search-b-1", "cell", 150_000), ("darts-v2", "cell", 37_000),
               ("resnet20", "baseline", 270_000), ("densenet_bc100", "baseline", 769_000))
    campaign = load_campaign(make_campaign(tmp_path / "compare" / "c", CIFAR10, names=crowded))
    report_plots.plot_comparison(campaign.summary, "c", tmp_path / "c", campaign.data_facts)
    axes = captured[0].axes[0]
    assert axes.get_xscale() == "log"  # 37k to darts-v2's published 3.3M
    renderer = captured[0].canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in axes.texts]
    assert len(boxes) == len(crowded) + 3  # ours, and the published numbers of darts-v2, resnet20, densenet
    inside = axes.get_window_extent(renderer)
    assert all(inside.x0 <= box.x0 and box.x1 <= inside.x1 for box in boxes)
    assert not any(first.overlaps(second) for i, first in enumerate(boxes) for second in boxes[i + 1:])
