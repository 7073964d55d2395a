"""`nas report`: one document over searches, transfers and comparisons, with its tables and pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from nas.analysis.cell_diagram import save_cell_diagram
from nas.analysis.experiment_results import Campaign, SearchResults, describe_budget
from nas.analysis.published_table import published_nas_cells, published_on
from nas.analysis.report_document import Section, pngs
from nas.analysis.report_plots import (
    plot_accuracy_against_cost,
    plot_comparison,
    plot_op_distribution,
    plot_progress,
)
from nas.analysis.report_tables import (
    campaign_table,
    describe_recipe,
    failure_breakdown,
    leaderboard,
    published_note,
    sampler_summary,
)
from nas.data.data_facts import NOT_RECORDED
from nas.analysis.report_views import search_view_sections
from nas.plural import count_of
from nas.space.genotype import Genotype

DIAGRAMS_PER_SEARCH = 2


def search_sections(searches: Sequence[SearchResults], out: Path, top: int) -> list[Section]:
    sections = []
    if len(searches) > 1:
        sections.append(Section("Samplers side by side", [describe_budget(search) for search in searches],
                                sampler_summary(searches), "samplers"))
    sections.append(Section("Search progress", ["best validation accuracy so far, by trials and by wall time"],
                            pictures=pngs(plot_progress(searches, out / "progress"))))
    sections.append(Section("Accuracy against cost",
                            ["validation accuracy after proxy training against the full network's cost"],
                            pictures=pngs(plot_accuracy_against_cost(searches, "params", out / "accuracy-params"))
                            + pngs(plot_accuracy_against_cost(searches, "macs", out / "accuracy-macs"))))
    for search in searches:
        diagrams = []
        for rank, genotype in enumerate(search.finished.sort_values("val_acc", ascending=False)["genotype"]
                                        .head(DIAGRAMS_PER_SEARCH), start=1):
            stem = out / f"{search.name}-cell-{rank}"
            for suffix in (".png", ".svg"):  # as the other pictures: PNG for the document, SVG for a paper
                save_cell_diagram(Genotype.parse(genotype), stem.with_suffix(suffix), title=f"{search.name} #{rank}")
            diagrams.append(stem.with_suffix(".png"))
        sections.append(Section(f"Search {search.name}: best cells", [describe_budget(search)],
                                leaderboard(search, top), f"{search.name}-leaderboard",
                                pngs(plot_op_distribution(search, top, out / f"{search.name}-ops")) + diagrams))
        failures = failure_breakdown(search)
        if len(failures):
            sections.append(Section(f"Search {search.name}: trials that did not finish",
                                    [f"{count_of(int(failures['trials'].sum()), 'trial')} of "
                                     f"{len(search.trials)}, by status and reason"],
                                    failures, f"{search.name}-unfinished"))
        sections += search_view_sections(search, out)
    return sections


def campaign_sections(campaigns: Sequence[Campaign], out: Path) -> list[Section]:
    sections = []
    for campaign in campaigns:
        stem = out / f"{campaign.folder.parent.name}-{campaign.folder.name}"
        devices = ", ".join(sorted(set(campaign.summary["device"].dropna())))
        seeds = ", ".join(map(str, campaign.seeds)) or NOT_RECORDED
        notes = [describe_recipe(campaign.recipe), campaign.data_facts.describe_final_split(),
                 f"seeds: {seeds}; device: {devices or NOT_RECORDED}", published_note(campaign)]
        sections.append(Section(campaign.title, notes, campaign_table(campaign), stem.name,
                                pngs(plot_comparison(campaign.summary, campaign.title, stem, campaign.data_facts))))
    if any(published_on(campaign.data_facts.dataset, campaign.data_facts.classes) for campaign in campaigns):
        sections.append(Section("Published NAS cells on CIFAR-10", ["for reference; full-length training in the "
                                                                   "papers cited"], published_nas_cells(),
                                "published-nas-cells"))
    return sections

