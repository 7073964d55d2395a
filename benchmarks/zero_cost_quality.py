"""How well zero-cost proxies predict NAS-Bench-201 accuracies, and what they give a search.

    python benchmarks/zero_cost_quality.py [--scores results/zero-cost/nasbench201_scores.csv] [--table CSV]
        [--samplers tpe,evolution,random] [--runs 100] [--seed 0] [--proxy vote] [--warm-start 1000] [--screen 10]
        [--out FILE.md]

(a) Rank correlations (Spearman, Kendall tau) of each proxy in the scores table, of rank votes, of the parameter
count and of the 12-epoch validation accuracy (the yardstick: what a search sees) against the benchmark's
200-epoch test accuracy and its 12-epoch validation accuracy, over the cells each one scored; with each proxy's
median seconds per cell as the table records them. The votes are ranked by their correlation with the 12-epoch
validation accuracy (the search signal), which is how the tabular mode's default vote was chosen.
(b) Samplers with and without the proxy (`nas bench nasbench201 --scores` at its defaults unless given) at 10, 25,
50 and 100 trained evaluations: mean ± std of the picked cell's test accuracy over --runs runs, and the scoring
seconds the table records for the cells scored by then. The value at N trained evaluations is read off a run of
100, which asks exactly what a run of N would (nothing a sampler or the guidance does depends on the budget).

Prints markdown tables (the command, the machine and the date first); --out writes the same text to a file.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)
from nas.atomic_files import write_text_atomic  # noqa: E402
from nas.bench.tabular_benchmark import (  # noqa: E402
    DEFAULT_PROXY, DEFAULT_SCREEN, DEFAULT_WARM_START_POOL, TABULAR_VOTE_MEMBERS, BenchmarkTable, TableGuidance, benchmark_sampler,
    guidance_settings)
from nas.markdown_table import markdown_table  # noqa: E402
from nas.space.nasbench201 import NasBench201Space  # noqa: E402
from nas.zero_cost import rank_vote  # noqa: E402
from nas.zero_cost.nasbench201_scores import read_scores_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = os.environ.get("NAS_NB201_TABLE", str(REPO.parent / "shared" / "benchmarks" / "nasbench201"
                                                      / "nb201_cifar10.csv"))
DEFAULT_SCORES = REPO / "results" / "zero-cost" / "nasbench201_scores.csv"
TEST, SIGNAL, PARAMS = "cifar10_test_acc_200ep", "cifar10_valid_acc_12ep", "params_M_cifar10"
CHECKPOINTS = (10, 25, 50, 100)
# NAS-Bench-201 CIFAR-10, Spearman vs test accuracy over all cells: Abdelfattah et al. 2021 (batch 64, except
# NASWOT: Mellor et al. 2021, batch 128; ZiCo: Li et al. 2023).
PAPER_SPEARMAN = {"synflow": 0.74, "jacob_cov": 0.73, "snip": 0.64, "grad_norm": 0.58, "naswot": 0.79, "zico": 0.80,
                  "vote(synflow+snip+jacob_cov)": 0.82}


def correlation_row(name: str, values: pd.Series, frame: pd.DataFrame, seconds: float | None) -> list[str]:
    """Spearman and Kendall tau of `values` against the test and 12-epoch accuracy, over the cells it scored."""
    kept = values.notna()
    test, signal = frame.loc[kept, TEST], frame.loc[kept, SIGNAL]
    cells, spearman = [name, f"{int(kept.sum()):,}"], {}
    for target in (test, signal):
        if target.name == values.name:
            cells += ["—", "—"]
            continue
        spearman[target.name] = stats.spearmanr(values[kept], target).statistic
        cells += [f"{spearman[target.name]:.3f}", f"{stats.kendalltau(values[kept], target).statistic:.3f}"]
    paper = PAPER_SPEARMAN.get(name)
    return cells + ["" if seconds is None else f"{seconds:.3f}",
                    "" if paper is None else f"{paper:.2f} ({spearman[TEST] - paper:+.2f})"]


def scored_frame(table_path: str, scores) -> pd.DataFrame:
    """The benchmark's rows (accuracies, params) with each proxy's score beside them; NaN where it has none."""
    frame = pd.read_csv(table_path, usecols=["arch", TEST, SIGNAL, PARAMS])
    position = {arch: row for row, arch in enumerate(frame.arch)}
    space = NasBench201Space()
    cells = sorted(scores.rows, key=scores.rows.get)  # the scores table's rows, in its order
    rows = [position[space.decode(choices)] for choices in cells]
    for proxy in scores.proxies:
        frame[proxy] = np.nan
        frame.loc[rows, proxy] = scores.values[proxy]
    return frame


def ranked_votes(frame: pd.DataFrame, proxies) -> list[tuple[float, tuple[str, ...], pd.Series]]:
    """Every rank vote of two or more proxies over the cells all its members scored, best first by Spearman with
    the 12-epoch validation accuracy (the search signal)."""
    votes = []
    for size in range(2, len(proxies) + 1):
        for members in itertools.combinations(proxies, size):
            if {"params", "macs"} <= set(members):  # the two counts rank the cells alike: one vote twice
                continue
            vote = rank_vote(frame[list(members)].dropna(), members).reindex(frame.index)
            kept = vote.notna()
            votes.append((stats.spearmanr(vote[kept], frame.loc[kept, SIGNAL]).statistic, members, vote))
    return sorted(votes, key=lambda item: -item[0])


def correlation_table(frame: pd.DataFrame, scores, shown_votes) -> str:
    """One row per predictor over the cells of `frame` it scored: the yardsticks, each proxy, the votes shown."""
    seconds = {proxy: float(np.nanmedian(scores.seconds[proxy])) for proxy in scores.proxies}
    lines = [correlation_row("12-epoch validation accuracy (yardstick)", frame[SIGNAL], frame, None),
             correlation_row("params (benchmark table)", frame[PARAMS], frame, None)]
    lines += [correlation_row(proxy, frame[proxy], frame, seconds[proxy]) for proxy in scores.proxies]
    for _, members, vote in ranked_votes(frame, scores.proxies):
        if members in shown_votes:
            lines.append(correlation_row(f"vote({'+'.join(members)})", vote.reindex(frame.index), frame,
                                         sum(seconds[member] for member in members)))
    header = ["predictor", "cells", "Spearman vs test 200 ep", "Kendall vs test", "Spearman vs valid 12 ep",
              "Kendall vs valid", "median s/cell", "paper's Spearman vs test (ours − it)"]
    return markdown_table(pd.DataFrame(lines, columns=header))


def quality_tables(table_path: str, scores) -> tuple[str, str, int]:
    """The correlations over every cell each predictor scored, the same over the cells every proxy scored (how
    many), with the votes worth showing: the best three of the proxies scored on every cell of the table, the
    best three of all, and the default and published ones."""
    frame = scored_frame(table_path, scores)
    widest = max(scores.cells_with(proxy) for proxy in scores.proxies)
    everywhere = {proxy for proxy in scores.proxies if scores.cells_with(proxy) == widest}
    votes = [members for _, members, _ in ranked_votes(frame, scores.proxies)]
    named = [set(TABULAR_VOTE_MEMBERS), {"synflow", "jacob_cov", "snip"}, {"naswot", "synflow", "zico"}]
    shown = [members for members in votes if set(members) <= everywhere][:3] + votes[:3]
    shown += [members for members in votes if set(members) in named]
    sample = frame[frame[list(scores.proxies)].notna().all(axis=1)]
    return correlation_table(frame, scores, shown), correlation_table(sample, scores, shown), len(sample)


def search_rows(table, scores, args) -> list[list[str]]:
    settings = guidance_settings(args.proxy, warm_start_pool=args.warm_start, screen=args.screen)
    guidance = TableGuidance(settings, scores)
    rows = []
    for name in args.samplers.split(","):
        for guided in (None, guidance):
            summary = benchmark_sampler(table, name, budget=max(CHECKPOINTS), runs=args.runs, seed=args.seed,
                                        guidance=guided)
            curves = summary.curves
            cells = [name, guided.label if guided else "none"]
            cells += [f"{curves[:, c - 1].mean():.2f} ± {curves[:, c - 1].std():.2f}" for c in CHECKPOINTS]
            if guided:
                scoring = summary.scoring_curves
                row = summary.row()
                cells += [" / ".join(f"{scoring[:, c - 1].mean():.1f}" for c in CHECKPOINTS),
                          f"{row['cells_scored_mean']:.0f}", f"{row['unscored_cells_mean']:.0f}"]
            else:
                cells += ["0", "0", "0"]
            cells += [f"{np.mean([run.picked_signal for run in summary.runs]):.2f}", f"{summary.seconds:.0f}"]
            rows.append(cells)
            print(" | ".join(cells), file=sys.stderr, flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", default=str(DEFAULT_SCORES))
    parser.add_argument("--table", default=DEFAULT_TABLE)
    parser.add_argument("--samplers", default="tpe,evolution,random")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--proxy", default=DEFAULT_PROXY)
    parser.add_argument("--warm-start", type=int, default=DEFAULT_WARM_START_POOL)
    parser.add_argument("--screen", type=int, default=DEFAULT_SCREEN)
    parser.add_argument("--no-search", action="store_true", help="the correlations only")
    parser.add_argument("--out", help="also write the markdown here")
    args = parser.parse_args(argv)
    import optuna  # only the searches need it quiet

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    scores = read_scores_table(args.scores)
    table = BenchmarkTable.read_csv(args.table)
    correlations, on_sample, sample_cells = quality_tables(args.table, scores)
    text = [f"Command: `python benchmarks/zero_cost_quality.py {' '.join(argv if argv is not None else sys.argv[1:])}`  ",
            f"Machine: {cpu_model()}, {os.cpu_count()} CPU cores; Python {platform.python_version()}  ",
            f"Scores table: {Path(args.scores).name} (sha256 {scores.sha256[:12]}…, {len(scores.rows):,} cells), "
            f"benchmark table: {table.path.name} (sha256 {table.sha256[:12]}…)  ",
            "", "Rank correlation over the cells each predictor scored; median s/cell as the scores table records "
            "(a vote: the sum of its members'):", "", correlations, "",
            f"The same over the {sample_cells:,} cells every proxy scored:", "", on_sample]
    if not args.no_search:
        rows = search_rows(table, scores, args)
        header = ["sampler", "proxy", *[f"@{c} test (%)" for c in CHECKPOINTS],
                  "scoring s/run @10/25/50/100", "cells scored/run", "without a score/run", "picked valid 12 ep",
                  "time (s)"]
        text += ["", f"Searches, {args.runs} runs each (seeds {args.seed}..{args.seed + args.runs - 1}); guided: warm "
                 f"start from the best of {args.warm_start} cells, each trained cell the best of {args.screen} "
                 f"proposed. @N: mean ± std test accuracy of the cell picked after N trained evaluations.", "",
                 markdown_table(pd.DataFrame(rows, columns=header))]
    text += ["", f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; wall time "
                 f"{time.perf_counter() - started:.0f} s"]
    output = "\n".join(text) + "\n"
    print(output)
    if args.out:
        write_text_atomic(args.out, output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
