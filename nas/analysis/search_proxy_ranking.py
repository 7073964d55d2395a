"""Did the zero-cost proxy that guided a search rank its candidates as their training did? Each trained candidate's
proxy value beside its validation accuracy, and Spearman's rho and Kendall's tau-b between the two over the search.
A vote is taken again over the trained candidates (the search recorded each cell's vote among the cells scored
until then, a pool that grew as it ran), from the members' values in trials.csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nas.analysis.experiment_results import SearchResults
from nas.analysis.proxy_transfer_link import MIN_LINKED_CELLS, kendall_tau_b
from nas.analysis.report_document import Section, pngs
from nas.analysis.report_plots import plt, save_figure
from nas.plural import count_of
from nas.search.proxy_scoring_summary import ProxyScoringSummary
from nas.zero_cost.combine import VOTE, rank_vote

TABLE_ROWS = 20  # the table shows the best trained candidates; the plot and the correlations use all


def guided_by_proxy(search: SearchResults) -> bool:
    return "proxy" in search.trials and (search.trials["proxy"] != "").any()


def proxy_and_accuracy(search: SearchResults) -> pd.DataFrame:
    """One row per finished candidate with a recorded proxy: hash, val_acc, proxy (the guiding value) and each
    proxy the search computed; best accuracy first."""
    finished = search.finished[search.finished["proxy"] != ""]
    values = pd.DataFrame(list(finished["proxy_values"]), index=finished.index).astype(float)
    name = finished["proxy"].iloc[0] if len(finished) else VOTE
    members = list((search.saved and search.saved.zero_cost and search.saved.zero_cost.vote_members) or ())
    if name == VOTE and members and set(members) <= set(values.columns):
        guiding = rank_vote(values, members)
    else:
        guiding = finished["proxy_score"].astype(float)
    table = pd.concat([finished[["hash", "val_acc"]], guiding.rename(f"proxy ({name})"), values], axis=1)
    return table.sort_values("val_acc", ascending=False).reset_index(drop=True)


def describe_correlation(table: pd.DataFrame) -> str:
    column = table.columns[2]
    both = table.dropna(subset=[column])
    if len(both) < MIN_LINKED_CELLS:
        return (f"{count_of(len(both), 'trained candidate')} with a proxy value: not enough candidates for a rank "
                f"correlation (needs {MIN_LINKED_CELLS})")
    rho = float(both[column].corr(both["val_acc"], method="spearman"))
    tau = kendall_tau_b(both[column], both["val_acc"])
    return (f"{column} against trained validation accuracy over {count_of(len(both), 'candidate')}: Spearman's rho "
            f"{rho:.2f}, Kendall's tau-b {tau:.2f}")


def plot_proxy_against_accuracy(table: pd.DataFrame, title: str, stem: Path) -> list[Path]:
    figure, axes = plt.subplots(figsize=(5.5, 4.2))
    axes.scatter(table.iloc[:, 2], table["val_acc"], s=18)
    axes.set_xlabel(table.columns[2] + " at initialisation")
    axes.set_ylabel("validation accuracy after proxy training")
    axes.grid(alpha=0.3)
    axes.set_title(title)
    figure.tight_layout()
    return save_figure(figure, stem)


def proxy_ranking_sections(search: SearchResults, out: Path) -> list[Section]:
    """None for a search that no proxy guided."""
    if not guided_by_proxy(search):
        return []
    table = proxy_and_accuracy(search)
    notes = [describe_correlation(table)]
    summary = ProxyScoringSummary.read(search.folder)
    notes.append(summary.line() if summary else "time spent scoring: not recorded")
    if len(table) > TABLE_ROWS:
        notes.append(f"the table: the {TABLE_ROWS} most accurate of {len(table)} candidates; the plot: all")
    pictures = pngs(plot_proxy_against_accuracy(table, f"{search.name}: proxy against accuracy",
                                                out / f"{search.name}-proxy")) if len(table) else []
    shown = table.head(TABLE_ROWS).map(lambda v: float(f"{v:.4g}") if isinstance(v, float) else v)  # synflow: 1e26
    return [Section(f"Search {search.name}: zero-cost proxy against trained accuracy", notes, shown,
                    f"{search.name}-proxy", pictures)]
