"""Searches answered from a lookup table (NAS-Bench-201): measures sampler quality in seconds instead of GPU-days.

Each suggestion is looked up in the table. The sampler is told only the search signal (12-epoch validation
accuracy, as a reward in [0, 1]) and the costs; the 200-epoch test accuracy is read only to report the cell the
search finally picks, so no sampler can tune itself on the test set. The budget counts distinct cells: a cell
asked again is answered from a cache for free, as the real search deduplicates cells by their canonical hash.

A guided search (`TableGuidance`) wraps the sampler in ProxyGuidedSampler, its scorer a lookup in a table of
zero-cost scores (nas.bench.table_scorer): cells scored and screened out cost only the scoring seconds the table
records, counted apart from the budget of trained (looked-up) cells.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from nas.bench.table_scorer import TableScorer
from nas.errors import ConfigError
from nas.samplers import Outcome, make_sampler
from nas.samplers.proxy_guided import VOTE, ProxyGuidance, ProxyGuidedSampler
from nas.space.nasbench201 import NasBench201Space
from nas.zero_cost.nasbench201_scores import ScoresTable

DEFAULT_DATASET = "cifar10"
# NAS-Bench-201 has one set of columns per dataset (cifar10, cifar100, ImageNet16-120), named by prefix.
SIGNAL_SUFFIX = "_valid_acc_12ep"
TEST_SUFFIX = "_test_acc_200ep"


@dataclass(frozen=True)
class DatasetColumns:
    """The columns of one dataset in a NAS-Bench-201 table; costs in millions."""

    signal: str
    test: str
    costs: Mapping[str, str]

    @classmethod
    def of(cls, dataset: str) -> "DatasetColumns":
        return cls(signal=f"{dataset}{SIGNAL_SUFFIX}", test=f"{dataset}{TEST_SUFFIX}",
                   costs={"params": f"params_M_{dataset}", "macs": f"flops_M_{dataset}"})

    def names(self) -> list[str]:
        return [self.signal, self.test, *self.costs.values()]


def datasets_in(columns: Sequence[str]) -> list[str]:
    """Datasets a table has both accuracy columns for, in column order."""
    present = set(columns)
    return [column[: -len(SIGNAL_SUFFIX)] for column in columns
            if column.endswith(SIGNAL_SUFFIX) and column[: -len(SIGNAL_SUFFIX)] + TEST_SUFFIX in present]


def numeric_column(values: pd.Series, where: str) -> pd.Series:
    """The column as numbers; a value that is not one (text, an empty cell) is named with its row."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise ConfigError(f"{where}: column {values.name} holds {values.iloc[row]!r} in row {row + 1}, not a number")
    return numbers.astype(float)


# A sampler that has converged keeps asking cells it has seen; stop after this many asks per budgeted cell.
ASKS_PER_EVALUATION_LIMIT = 50


@dataclass(frozen=True)
class BenchmarkTable:
    """The table indexed by decision vector, for one dataset. `signal` and `test` are accuracies in percent."""

    space: NasBench201Space
    path: Path
    dataset: str
    rows: Mapping[tuple[int, ...], int]
    signal: np.ndarray
    test: np.ndarray
    costs: Mapping[str, np.ndarray]
    sha256: str = ""  # of the file's bytes: results name the table by file name and checksum, not by a local path

    @property
    def optimum(self) -> float:
        return float(self.test.max())

    @classmethod
    def read_csv(cls, path: str | Path, dataset: str = DEFAULT_DATASET,
                 space: NasBench201Space | None = None) -> "BenchmarkTable":
        """The rows of `path` with the columns of `dataset` (`<dataset>_valid_acc_12ep`, ...)."""
        space = space or NasBench201Space()
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"benchmark table {str(path)!r} does not exist")
        try:
            frame = pd.read_csv(path, keep_default_na=False)  # "n/a" stays text, so a message can quote it
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise ConfigError(f"benchmark table {str(path)!r} is not a readable CSV: {error}") from None
        columns = DatasetColumns.of(dataset)
        missing = [column for column in ["arch", *columns.names()] if column not in frame.columns]
        if missing:
            available = datasets_in(list(frame.columns))
            has = f"it has dataset(s) {', '.join(available)}" if available else "it has no dataset's columns"
            raise ConfigError(f"benchmark table {str(path)!r} lacks column(s) {', '.join(missing)} for dataset "
                              f"{dataset!r} ({has})")
        if frame.empty:
            raise ConfigError(f"benchmark table {str(path)!r} has no rows")
        for column in columns.names():
            frame[column] = numeric_column(frame[column], f"benchmark table {str(path)!r}")
        rows = {}
        for row, arch in enumerate(frame["arch"]):
            choices = space.encode(arch)
            if choices in rows:
                raise ConfigError(f"benchmark table {str(path)!r} lists {arch} twice")
            rows[choices] = row
        return cls(
            space=space,
            path=path,
            dataset=dataset,
            rows=rows,
            signal=frame[columns.signal].to_numpy(dtype=float),
            test=frame[columns.test].to_numpy(dtype=float),
            costs={name: frame[column].to_numpy(dtype=float) * 1e6 for name, column in columns.costs.items()},
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        )

    def outcome(self, choices: tuple[int, ...]) -> Outcome:
        """What a sampler may know about a cell: the search signal and the costs, never the test accuracy."""
        row = self.rows.get(choices)
        if row is None:  # a partial table (tests, subsets): the cell was never trained
            return Outcome("failed")
        return Outcome("ok", self.signal[row] / 100.0, {name: float(values[row]) for name, values in self.costs.items()})


# The tabular mode's defaults (BENCHMARKS.md, "Zero-cost proxies"), chosen by the 12-epoch validation accuracy (the
# search signal, not the test accuracy). The proxy: of the proxies and votes the scores table holds for every cell
# (the data-free params, macs, synflow), the one whose rank correlation with that signal is highest: the vote of
# params and synflow (NASWOT's and jacob_cov's are higher, but the table has them for a sample only, and a cell
# without a score ranks last). The pool and the screen: the best picked cells by that signal on seeds 1000+ (the
# measured runs use seeds 0..99). `nas bench --help` quotes them.
DEFAULT_PROXY = VOTE
TABULAR_VOTE_MEMBERS = ("params", "synflow")
DEFAULT_WARM_START_POOL = 1000
DEFAULT_SCREEN = 3


def guidance_settings(proxy: str = DEFAULT_PROXY, *, warm_start_pool: int = DEFAULT_WARM_START_POOL,
                      warm_start_count: int | None = None, screen: int = DEFAULT_SCREEN) -> ProxyGuidance:
    """`proxy`: a proxy's name, `vote` (of TABULAR_VOTE_MEMBERS), or names joined by commas (their vote); a
    cell is scored by every proxy `proxy` needs."""
    names = [name.strip() for name in proxy.split(",") if name.strip()]
    if len(names) > 1:
        proxy, members = VOTE, tuple(names)
    else:
        proxy, members = (names or [VOTE])[0], TABULAR_VOTE_MEMBERS
    return ProxyGuidance(proxy, members, warm_start_pool=warm_start_pool, warm_start_count=warm_start_count,
                         screen=screen)


@dataclass(frozen=True)
class TableGuidance:
    """How a tabular search uses a proxy (ProxyGuidance) and the scores table that answers it."""

    settings: ProxyGuidance
    scores: ScoresTable

    def __post_init__(self):
        self.scores.check_proxies(self.settings.proxies)

    @property
    def label(self) -> str:
        """The proxy as a column says it: a name, or vote(a+b+c)."""
        if self.settings.proxy == VOTE:
            return f"{VOTE}({'+'.join(self.settings.vote_members)})"
        return self.settings.proxy


@dataclass
class SearchRun:
    """One search. `curve[k]` is the test accuracy of the cell picked after k+1 distinct evaluations;
    `scoring_curve[k]` the proxy seconds spent by then (0 unguided)."""

    sampler: str
    seed: int
    curve: np.ndarray
    picked_arch: str
    picked_signal: float
    picked_test: float
    evaluations: int
    asks: int
    scoring_curve: np.ndarray | None = None
    cells_scored: int = 0
    cells_unscored: int = 0  # scored cells the table had no score for (NaN: ranked last)
    screened_out: int = 0
    warm_started: int = 0


def run_benchmark_search(
    table: BenchmarkTable, sampler_name: str, *, budget: int, seed: int, options: Mapping | None = None,
    guidance: TableGuidance | None = None,
) -> SearchRun:
    """One search of `budget` distinct cells; the pick is the best cell by the search signal."""
    sampler = make_sampler(sampler_name, table.space.decisions, seed=seed, **dict(options or {}))
    scorer = None
    if guidance is not None:
        scorer = TableScorer(guidance.scores, guidance.settings.proxies)
        sampler = ProxyGuidedSampler(sampler, guidance.settings, scorer, sample=table.space.sample, seed=seed)
    answers: dict[tuple[int, ...], Outcome] = {}
    best_signal, best_row = -np.inf, -1
    curve: list[float] = []
    scoring_curve: list[float] = []
    asks = 0
    while len(answers) < budget and asks < ASKS_PER_EVALUATION_LIMIT * budget:
        suggestion = sampler.ask()
        asks += 1
        outcome = answers.get(suggestion.choices)
        if outcome is None:
            outcome = answers[suggestion.choices] = table.outcome(suggestion.choices)
            row = table.rows.get(suggestion.choices)
            if row is not None and table.signal[row] > best_signal:
                best_signal, best_row = table.signal[row], row
            curve.append(table.test[best_row] if best_row >= 0 else np.nan)
            scoring_curve.append(scorer.seconds if scorer else 0.0)
        sampler.tell(suggestion.token, outcome)
    if best_row < 0:
        raise ConfigError(f"sampler {sampler_name!r} found no cell of the table in {asks} asks")
    # A search that stopped early (converged sampler) keeps its last pick for the rest of the budget.
    curve += [curve[-1]] * (budget - len(curve))
    scoring_curve += [scoring_curve[-1]] * (budget - len(scoring_curve))
    picked = next(choices for choices, row in table.rows.items() if row == best_row)
    return SearchRun(
        sampler=sampler_name,
        seed=seed,
        curve=np.asarray(curve, dtype=float),
        picked_arch=table.space.decode(picked),
        picked_signal=float(table.signal[best_row]),
        picked_test=float(table.test[best_row]),
        evaluations=len(answers),
        asks=asks,
        scoring_curve=np.asarray(scoring_curve, dtype=float),
        **({} if scorer is None else {"cells_scored": scorer.scored, "cells_unscored": scorer.unscored,
                                      "screened_out": sampler.counts.screened_out,
                                      "warm_started": sampler.counts.warm_started}),
    )


@dataclass
class SamplerSummary:
    sampler: str
    runs: list[SearchRun]
    seconds: float
    optimum: float
    checkpoints: Sequence[int] = field(default_factory=tuple)
    guidance: TableGuidance | None = None

    @property
    def tests(self) -> np.ndarray:
        return np.array([run.picked_test for run in self.runs])

    @property
    def curves(self) -> np.ndarray:
        return np.stack([run.curve for run in self.runs])

    def row(self) -> dict:
        tests, regrets = self.tests, self.optimum - self.tests
        row = {
            "sampler": self.sampler,
            "runs": len(self.runs),
            "test_mean": tests.mean(),
            "test_std": tests.std(),
            "regret_mean": regrets.mean(),
            "regret_std": regrets.std(),
            "evaluations_mean": np.mean([run.evaluations for run in self.runs]),
            "asks_mean": np.mean([run.asks for run in self.runs]),
            "seconds": self.seconds,
        }
        for checkpoint in self.checkpoints:
            row[f"test_at_{checkpoint}"] = np.nanmean(self.curves[:, checkpoint - 1])
        if self.guidance is not None:
            row.update(self.guidance_row())
        return row

    @property
    def scoring_curves(self) -> np.ndarray:
        return np.stack([run.scoring_curve for run in self.runs])

    def guidance_row(self) -> dict:
        """The proxy's settings, and per run (mean): cells scored, screened out, met without a score, and the
        scoring seconds the table records for them, at the end and at each checkpoint."""
        settings = self.guidance.settings
        row = {
            "proxy": self.guidance.label,
            "warm_start_pool": settings.warm_start_pool,
            "warm_start_count": settings.warm_start_count or "",
            "screen": settings.screen,
            "scores_table_sha256": self.guidance.scores.sha256,
            "cells_scored_mean": np.mean([run.cells_scored for run in self.runs]),
            "screened_out_mean": np.mean([run.screened_out for run in self.runs]),
            "unscored_cells_mean": np.mean([run.cells_unscored for run in self.runs]),
            "scoring_s_mean": self.scoring_curves[:, -1].mean(),
        }
        for checkpoint in self.checkpoints:
            row[f"scoring_s_at_{checkpoint}"] = self.scoring_curves[:, checkpoint - 1].mean()
        return row


def benchmark_sampler(
    table: BenchmarkTable,
    sampler_name: str,
    *,
    budget: int,
    runs: int,
    seed: int = 0,
    options: Mapping | None = None,
    progress: Callable[[int], None] | None = None,
    guidance: TableGuidance | None = None,
) -> SamplerSummary:
    """`runs` independent searches with seeds seed, seed+1, ...; progress(k) after each."""
    if budget < 1:
        raise ConfigError(f"budget must be at least 1 cell, got {budget}")
    if runs < 1:
        raise ConfigError(f"runs must be at least 1, got {runs}")
    if budget > len(table.rows):
        raise ConfigError(f"budget {budget} exceeds the {len(table.rows)} cells in the table")
    start = time.perf_counter()
    results = []
    for index in range(runs):
        results.append(run_benchmark_search(table, sampler_name, budget=budget, seed=seed + index, options=options,
                                            guidance=guidance))
        if progress:
            progress(index + 1)
    checkpoints = tuple(sorted({c for c in (10, 25, 50, 100, 200, budget) if c <= budget}))
    return SamplerSummary(sampler_name, results, time.perf_counter() - start, table.optimum, checkpoints, guidance)
