"""Does the search's cheap proxy rank cells as their full trainings do? One row per cell found both in a search
(its proxy validation accuracy) and in transfers or comparisons (their test accuracy, mean over seeds), linked by
the cell's canonical hash, and Kendall's tau-b between the proxy and each campaign's accuracy."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from nas.analysis.experiment_results import Campaign, SearchResults
from nas.errors import GenotypeError
from nas.evaluation.jobs import JobTable
from nas.plural import count_of
from nas.run_status import Status
from nas.space.genotype import Genotype

MIN_LINKED_CELLS = 3  # a rank correlation over fewer cells says nothing
PROXY_COLUMN = "proxy val_acc"


def kendall_tau_b(first: Sequence[float], second: Sequence[float]) -> float:
    """Kendall's tau-b (ties in either ranking adjusted for); NaN when either ranking is all ties. pandas asks
    scipy (a dependency of scikit-learn, and ours) for it."""
    return float(pd.Series(first, dtype=float).corr(pd.Series(second, dtype=float), method="kendall"))


def cell_hash(model: str) -> str:
    """The canonical hash of a genotype's one-line form; "" for anything else (a baseline's name)."""
    try:
        return Genotype.parse(model).hash()
    except (GenotypeError, ValueError):
        return ""


def campaign_accuracies(campaign: Campaign) -> pd.Series:
    """Test accuracy of each cell the campaign trained, mean over its finished seeds, by canonical hash: the runs'
    `hash` column where recorded (newer runs.csv files), else computed from the genotype in `model`."""
    rows = [(record.hash or cell_hash(record.model), record.test_acc) for record in JobTable(campaign.folder).records
            if record.kind == "cell" and record.status == Status.OK and record.test_acc is not None]
    frame = pd.DataFrame(rows, columns=["hash", "accuracy"])
    return frame[frame["hash"] != ""].groupby("hash")["accuracy"].mean()


def proxy_accuracies(searches: Sequence[SearchResults]) -> pd.DataFrame:
    """Each cell's proxy validation accuracy (mean over the trials that trained it) and the search(es) it came
    from, by canonical hash."""
    finished = pd.concat([search.finished.assign(search=search.name) for search in searches], ignore_index=True)
    return finished.groupby("hash").agg(**{PROXY_COLUMN: ("val_acc", "mean"),
                                           "search": ("search", lambda names: ", ".join(sorted(set(names))))})


def linked_cells(searches: Sequence[SearchResults], campaigns: Sequence[Campaign]) -> pd.DataFrame:
    """One row per cell a search trained and at least one campaign trained again: hash, search, proxy accuracy
    and a column per campaign (empty where that campaign did not train it), best proxy first."""
    table = proxy_accuracies(searches)
    for campaign in campaigns:
        table[campaign.title] = campaign_accuracies(campaign)
    titles = [campaign.title for campaign in campaigns]
    table = table.dropna(subset=titles, how="all").sort_values(PROXY_COLUMN, ascending=False)
    return table.round(4).reset_index()


def describe_rank_agreement(table: pd.DataFrame, titles: Sequence[str]) -> list[str]:
    """A line per campaign: Kendall's tau-b between proxy and its accuracy, and the cells it rests on."""
    lines = []
    for title in titles:
        both = table.dropna(subset=[title])
        if len(both) < MIN_LINKED_CELLS:
            lines.append(f"{title}: {count_of(len(both), 'cell')} linked to the search, too few for a rank correlation "
                         f"(needs {MIN_LINKED_CELLS})")
        else:
            tau = kendall_tau_b(both[PROXY_COLUMN], both[title])
            pairs = len(both) * (len(both) - 1) // 2  # over few cells tau moves in big steps: say how big
            lines.append(f"{title}: Kendall's tau-b between proxy and final accuracy {tau:.2f} over "
                         f"{len(both)} cells ({count_of(pairs, 'pair')}: one pair in the other order moves it "
                         f"by {2 / pairs:.2f})")
    return lines
