"""Zero-cost proxies in tabular mode: the NAS-Bench-201 scores table (merged from shards, read back checked), a
guided `nas bench` that looks proxies up in it and never in the benchmark's accuracies, and ProxyGuidedSampler's
warm start and screening on every kind of sampler."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from nas.bench.tabular_benchmark import BenchmarkTable, TableGuidance, benchmark_sampler, guidance_settings
from nas.bench.table_scorer import TableScorer
from nas.cli import main
from nas.errors import ConfigError
from nas.run_status import Status
from nas.samplers import Outcome, make_sampler
from nas.samplers.proxy_guided import ProxyGuidance, ProxyGuidedSampler
from nas.space.nasbench201 import NasBench201Space
from nas.zero_cost.nasbench201_scores import PROVENANCE_FILE, SCORES_FILE, merge_score_files, read_scores_table
from test_nasbench201 import write_table

SPACE = NasBench201Space()


def archs(count: int, seed: int = 0) -> list[str]:
    """`count` distinct cells' arch strings, seeded."""
    cells = dict.fromkeys(SPACE.decode(SPACE.sample(seed * 1000 + k)) for k in range(3 * count))
    return list(cells)[:count]


def write_shard(path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def score_rows(table: pd.DataFrame, positions, proxies: dict, reasons: str = "") -> list[dict]:
    """Shard rows as ScoreTableWriter writes them: key, index, each proxy's value, then each one's seconds."""
    rows = []
    for position in positions:
        row = {"key": table.arch[position], "index": int(table["index"][position])}
        row.update({name: value(position) for name, value in proxies.items()})
        row.update({f"{name}_s": 0.25 for name in proxies})
        rows.append({**row, "reasons": reasons})
    return rows


@pytest.fixture
def tiny_benchmark(tmp_path):
    table = pd.DataFrame({"index": range(6), "arch": archs(6)})
    table.to_csv(tmp_path / "nb201.csv", index=False)
    return table


def test_merge_joins_the_shards_on_the_arch_string_and_says_how(tmp_path, tiny_benchmark):
    """Data-free proxies over every cell, NASWOT with them over a sample (two shards), the gradient proxies over
    another: one row per cell, a proxy two groups scored taken once, a cell a proxy never saw left empty."""
    shards = tmp_path / "out" / "shards"
    free = {"params": lambda k: 1000.0 * k, "synflow": lambda k: 10.0 ** k}
    write_shard(shards / "params-synflow-b64-s0-0of1.csv", score_rows(tiny_benchmark, [4, 2, 0, 5, 1, 3], free))
    cheap = {**free, "naswot": lambda k: -math.inf if k == 4 else 700.0 + k}
    write_shard(shards / "cheap-b64-s0-0of2.csv", score_rows(tiny_benchmark, [4], cheap))
    write_shard(shards / "cheap-b64-s0-1of2.csv", score_rows(tiny_benchmark, [2], cheap))
    expensive = score_rows(tiny_benchmark, [4, 1], {"zico": lambda k: 10.0 * k, "jacob_cov": lambda k: 1.0})
    expensive[1]["jacob_cov"], expensive[1]["reasons"] = "", "jacob_cov: LinAlgError"
    write_shard(shards / "expensive-b32-s0-0of1.csv", expensive)
    with open(shards / "expensive-b32-s0-0of1.csv", "a") as still_scoring:  # a row being written as we merge
        still_scoring.write(tiny_benchmark.arch[0][:20])

    path = merge_score_files(tmp_path / "out", tmp_path / "nb201.csv", made_with={"memory_format": "channels_last"})

    merged = pd.read_csv(path)
    assert path.name == SCORES_FILE
    assert list(merged.columns) == ["key", "index", "params", "jacob_cov", "naswot", "synflow", "zico", "params_s",
                                    "jacob_cov_s", "naswot_s", "synflow_s", "zico_s", "reasons"]  # registry order
    assert list(merged["index"]) == list(range(6)) and list(merged["key"]) == list(tiny_benchmark.arch)
    assert list(merged["params"]) == [1000.0 * k for k in range(6)] and merged.loc[5, "synflow"] == 1e5
    assert merged.loc[4, "naswot"] == -math.inf and merged.loc[2, "naswot"] == 702.0
    assert merged["naswot"].isna().sum() == 4 and merged["naswot_s"].isna().sum() == 4
    assert merged.loc[4, "zico"] == 40.0 and merged["zico"].isna().sum() == 4
    assert math.isnan(merged.loc[1, "jacob_cov"]) and merged.loc[1, "jacob_cov_s"] == 0.25  # failed, not unscored
    assert merged.loc[1, "reasons"] == "jacob_cov: LinAlgError"
    made = yaml.safe_load((tmp_path / "out" / PROVENANCE_FILE).read_text())
    assert made["benchmark_table"]["sha256"] == hashlib.sha256((tmp_path / "nb201.csv").read_bytes()).hexdigest()
    assert made["batch_size"] == {"params-synflow": 64, "cheap": 64, "expensive": 32}
    assert made["seed"]["cheap"] == 0 and made["memory_format"] == "channels_last" and made["torch"]
    assert made["coverage"]["params"]["cells"] == 6 and made["coverage"]["naswot"]["cells"] == 2
    assert made["coverage"]["jacob_cov"] == {"cells": 2, "undefined": 1, "median_seconds": 0.25}

    scores = read_scores_table(path)
    assert scores.proxies == ("params", "jacob_cov", "naswot", "synflow", "zico")
    assert scores.cells_with("zico") == 2 and scores.cells_with("params") == 6
    row = scores.rows[SPACE.encode(tiny_benchmark.arch[4])]
    assert scores.values["params"][row] == 4000.0 and scores.seconds["zico"][row] == 0.25


def test_merge_refuses_shards_scored_from_another_table(tmp_path, tiny_benchmark):
    rows = score_rows(tiny_benchmark, [0, 1], {"params": float})
    rows[1]["index"] = 0 + 5
    write_shard(tmp_path / "out" / "shards" / "cheap-b64-s0-0of1.csv", rows)
    with pytest.raises(ConfigError, match="has index 5, where nb201.csv has"):
        merge_score_files(tmp_path / "out", tmp_path / "nb201.csv")
    assert not (tmp_path / "out" / SCORES_FILE).exists()


def test_a_scores_table_of_another_space_is_refused_naming_the_row(tmp_path):
    good = archs(1)[0]
    pd.DataFrame({"key": [good, "normal: 'add(conv_3x3@0, skip_connect@1)'"], "naswot": [1.0, 2.0],
                  "naswot_s": [0.1, 0.1]}).to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(ConfigError, match=r"is not for the nasbench201 space: row 2 key \"normal: "):
        read_scores_table(tmp_path / "s.csv")
    with pytest.raises(ConfigError, match="does not exist"):
        read_scores_table(tmp_path / "none.csv")


# --- a guided search on a synthetic benchmark ---------------------------------------------------------------------


def write_scores(path, frame: pd.DataFrame, *, every: int = 1, extra: dict | None = None) -> pd.DataFrame:
    """A scores table for every `every`-th cell of a synthetic benchmark: naswot follows the conv count (a good
    proxy there), synflow is noise; each took 0.5 s. `extra`: more columns (an accuracy a user joined in)."""
    rows = frame.iloc[::every]
    convs = np.array([sum(op.startswith("nor_conv") for op in arch.split("|") if "~" in op) for arch in rows.arch])
    scores = pd.DataFrame({"key": rows.arch.to_numpy(), "index": rows["index"].to_numpy(),
                           "naswot": 100.0 * convs + np.arange(len(rows)) % 7,
                           "synflow": np.random.default_rng(0).random(len(rows)),
                           "naswot_s": 0.5, "synflow_s": 0.25, **(extra or {})})
    scores.to_csv(path, index=False)
    return scores


def test_a_guided_search_counts_trained_cells_in_the_budget_and_scoring_apart(tmp_path):
    frame = write_table(tmp_path / "table.csv")
    write_scores(tmp_path / "scores.csv", frame, every=2)  # half the cells have no score
    table = BenchmarkTable.read_csv(tmp_path / "table.csv")
    guidance = TableGuidance(guidance_settings("naswot", warm_start_pool=100, screen=5),
                             read_scores_table(tmp_path / "scores.csv"))
    guided = benchmark_sampler(table, "evolution", budget=30, runs=3, seed=0, guidance=guidance)
    plain = benchmark_sampler(table, "evolution", budget=30, runs=3, seed=0)
    for run in guided.runs:
        assert run.evaluations == 30 and run.cells_scored > 100 and run.screened_out > 0
        assert 0 < run.cells_unscored < run.cells_scored
        # naswot took 0.5 s on every cell the table scored, and a cell without a score cost nothing
        assert run.scoring_curve[-1] == pytest.approx(0.5 * (run.cells_scored - run.cells_unscored))
        assert np.all(np.diff(run.scoring_curve) >= 0) and run.scoring_curve[0] >= 0.5 * 40
    row = guided.row()
    assert row["proxy"] == "naswot" and row["screen"] == 5 and row["unscored_cells_mean"] > 0
    assert row["scoring_s_at_10"] <= row["scoring_s_mean"]
    # the proxy follows the conv count, which the synthetic accuracies reward: guidance must find better cells
    assert guided.curves[:, 9].mean() > plain.curves[:, 9].mean()


def test_the_scorer_sees_proxies_only_never_an_accuracy(tmp_path):
    """An accuracy column a user joined into the scores table is dropped on reading; naming it as the proxy is
    refused; and a guided search asks the same cells whatever the benchmark's test accuracies are."""
    frame = write_table(tmp_path / "a.csv")
    write_table(tmp_path / "b.csv", test_offset=7.0)
    write_scores(tmp_path / "scores.csv", frame, extra={"cifar10_test_acc_200ep": frame.cifar10_test_acc_200ep,
                                                        "cifar10_test_acc_200ep_s": 0.0})
    scores = read_scores_table(tmp_path / "scores.csv")
    assert set(scores.values) == set(scores.seconds) == {"naswot", "synflow"}
    for name in ("cifar10_test_acc_200ep", "cifar10_valid_acc_12ep"):
        with pytest.raises(ConfigError, match=f"unknown zero-cost proxy '{name}'"):
            TableScorer(scores, [name])
    guidance = TableGuidance(guidance_settings("naswot,synflow", warm_start_pool=50, screen=3), scores)
    picks = [[run.picked_arch for run in benchmark_sampler(BenchmarkTable.read_csv(tmp_path / path), "tpe",
                                                           budget=15, runs=2, seed=1, guidance=guidance).runs]
             for path in ("a.csv", "b.csv")]
    assert picks[0] == picks[1]


def test_cli_guided_bench_writes_the_guidance_columns(tmp_path, capsys):
    frame = write_table(tmp_path / "table.csv")
    write_scores(tmp_path / "scores.csv", frame, every=3)
    code = main(["bench", "nasbench201", "--table", str(tmp_path / "table.csv"), "--sampler", "random",
                 "--budget", "10", "--runs", "2", "--scores", str(tmp_path / "scores.csv"), "--proxy", "naswot,synflow",
                 "--warm-start", "40", "--screen", "2", "--out", str(tmp_path / "out")])
    assert code == 0
    captured = capsys.readouterr()
    assert "Guided by vote(naswot+synflow) from scores.csv" in captured.out and "scoring (s/run)" in captured.out
    assert "without a score in the table" in captured.err
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary.loc[0, "proxy"] == "vote(naswot+synflow)" and summary.loc[0, "warm_start_pool"] == 40
    assert summary.loc[0, "scoring_s_mean"] > 40 * 0.75 * 0.2  # at least the scored part of the pool: 0.75 s a cell
    assert summary.loc[0, "unscored_cells_mean"] > 0 and summary.loc[0, "evaluations_mean"] == 10


# --- ProxyGuidedSampler on each kind of sampler, with a fake scorer --------------------------------------------------


class FakeScorer:
    """proxy = the sum of the choices; logs every call's candidates."""

    def __init__(self):
        self.calls: list[list[tuple[int, ...]]] = []

    def __call__(self, candidates):
        self.calls.append(list(candidates))
        return [{"fake": float(sum(choices))} for choices in candidates]


def guided(name: str, guidance: ProxyGuidance) -> tuple[ProxyGuidedSampler, FakeScorer]:
    scorer = FakeScorer()
    sampler = make_sampler(name, SPACE.decisions, seed=4)
    return ProxyGuidedSampler(sampler, guidance, scorer, sample=SPACE.sample, seed=4), scorer


@pytest.mark.parametrize("name", ["evolution", "tpe", "controller"])
def test_warm_start_hands_the_best_scored_cells_first_in_order(name):
    wrapper, scorer = guided(name, ProxyGuidance("fake", warm_start_pool=30, warm_start_count=5))
    first = [wrapper.ask() for _ in range(5)]
    pool = scorer.calls[0]
    assert len(pool) == 30
    best = sorted(pool, key=lambda choices: -sum(choices))[:5]  # stable: the pool's order among equals
    assert [suggestion.choices for suggestion in first] == best
    assert wrapper.counts.warm_started == 5


@pytest.mark.parametrize("name", ["evolution", "tpe", "controller"])
def test_screening_returns_the_best_of_k_and_tells_the_others_failed(name):
    wrapper, scorer = guided(name, ProxyGuidance("fake", screen=4))
    drawn, told = [], []
    ask, tell = wrapper.sampler.ask, wrapper.sampler.tell

    def logged_ask():
        drawn.append(ask())
        return drawn[-1]

    def logged_tell(token, outcome):
        told.append((token, outcome))
        tell(token, outcome)

    wrapper.sampler.ask, wrapper.sampler.tell = logged_ask, logged_tell
    for _ in range(3):
        del drawn[:], told[:]
        picked = wrapper.ask()
        assert len(drawn) == 4 and picked in drawn
        sums = [sum(suggestion.choices) for suggestion in drawn]
        assert picked is drawn[sums.index(max(sums))]  # the best; the first of equals
        others = {suggestion.token for suggestion in drawn if suggestion is not picked}
        assert {token for token, _ in told} == others
        assert all(outcome.status == Status.FAILED and "screened out by zero-cost proxy fake" in outcome.note
                   for _, outcome in told)
        wrapper.tell(picked.token, Outcome("ok", 0.5))
    assert wrapper.counts.screened_out == 9


def test_bench_help_quotes_the_guidance_defaults(capsys):
    from nas.bench.tabular_benchmark import DEFAULT_PROXY, DEFAULT_SCREEN, DEFAULT_WARM_START_POOL, TABULAR_VOTE_MEMBERS

    assert main(["bench", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"vote: of {' and '.join(TABULAR_VOTE_MEMBERS)} (default {DEFAULT_PROXY})" in text
    assert f"(default {DEFAULT_WARM_START_POOL}; 0: none)" in text and f"(default {DEFAULT_SCREEN}; 1: none)" in text
