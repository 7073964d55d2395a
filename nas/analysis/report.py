"""`nas report`: one document over searches, transfers and comparisons, with its tables and pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from nas.analysis.cell_diagram import save_cell_diagram
from nas.analysis.experiment_results import Campaign, SearchResults, describe_budget
from nas.analysis.published_table import published_nas_cells
from nas.analysis.report_document import Section
from nas.analysis.report_plots import (
    plot_accuracy_against_cost,
    plot_comparison,
    plot_op_distribution,
    plot_progress,
)
from nas.analysis.report_tables import campaign_table, describe_recipe, leaderboard, sampler_summary
from nas.analysis.report_views import search_view_sections
from nas.space.genotype import Genotype

DIAGRAMS_PER_SEARCH = 2


def search_sections(searches: Sequence[SearchResults], out: Path, top: int) -> list[Section]:
    sections = []
    if len(searches) > 1:
        sections.append(Section("Samplers side by side", [describe_budget(search) for search in searches],
                                sampler_summary(searches), "samplers"))
    sections.append(Section("Search progress", ["best validation accuracy so far, by trials and by wall time"],
                            pictures=_png(plot_progress(searches, out / "progress"))))
    sections.append(Section("Accuracy against cost",
                            ["validation accuracy after proxy training against the full network's cost"],
                            pictures=_png(plot_accuracy_against_cost(searches, "params", out / "accuracy-params"))
                            + _png(plot_accuracy_against_cost(searches, "macs", out / "accuracy-macs"))))
    for search in searches:
        diagrams = []
        for rank, genotype in enumerate(search.finished.sort_values("val_acc", ascending=False)["genotype"]
                                        .head(DIAGRAMS_PER_SEARCH), start=1):
            path = out / f"{search.name}-cell-{rank}.png"
            save_cell_diagram(Genotype.parse(genotype), path, title=f"{search.name} #{rank}")
            diagrams.append(path)
        sections.append(Section(f"Search {search.name}: best cells", [describe_budget(search)],
                                leaderboard(search, top), f"{search.name}-leaderboard",
                                _png(plot_op_distribution(search, top, out / f"{search.name}-ops")) + diagrams))
        sections += search_view_sections(search, out)
    return sections


def campaign_sections(campaigns: Sequence[Campaign], out: Path) -> list[Section]:
    sections = []
    for campaign in campaigns:
        stem = out / f"{campaign.folder.parent.name}-{campaign.folder.name}"
        devices = ", ".join(sorted(set(campaign.summary["device"].dropna())))
        notes = [describe_recipe(campaign.recipe), f"device: {devices or 'unknown'}",
                 "trained on the full training set, tested on the test set; published numbers are the papers' "
                 "own full-length training, not runs of this engine"]
        sections.append(Section(campaign.title, notes, campaign_table(campaign), stem.name,
                                _png(plot_comparison(campaign.summary, campaign.title, stem))))
    if campaigns:
        sections.append(Section("Published NAS cells on CIFAR-10", ["for reference; full-length training in the "
                                                                   "papers cited"], published_nas_cells(),
                                "published-nas-cells"))
    return sections


def _png(paths: list[Path]) -> list[Path]:
    return [path for path in paths if path.suffix == ".png"]
