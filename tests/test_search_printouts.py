"""What a search prints: a summary table whose genotypes fit on a line, a first ETA that counts the workers, and
counts that agree with their nouns; and the README documents every column it writes to trials.csv."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from nas.analysis.report_tables import describe_recipe
from nas.plural import count_of
from nas.search import progress
from nas.search.progress import ProgressPrinter
from nas.search.search_summary import short_genotype, summary_table
from nas.search.trial_store import TrialRecord, TrialStore

GENOTYPE = ("normal: add(dil_conv_3x3@1, sep_conv_7x7@0) concat(max_pool_3x3@0, conv_1x1@0) "
            "add(sep_conv_5x5@2, skip_connect@2) | reduce: concat(max_pool_7x7@0, dil_conv_3x3@0) "
            "add(conv_1x7_7x1@0, sep_conv_3x3@1) concat(conv_1x3_3x1@3, max_pool_7x7@1)")


def _record(token: int, **fields) -> TrialRecord:
    values = dict(trial_id=f"t{token}", token=token, sampler="tpe", genotype=GENOTYPE, hash=f"{token:016x}",
                  choices=[], status="ok", val_acc=0.4, params=146330, macs=22_300_000, train_time_s=50.0)
    return TrialRecord(**{**values, **fields})


def test_the_summary_table_prints_genotypes_short_as_the_readme_shows(tmp_path):
    store = TrialStore(tmp_path)
    store.append(_record(0))
    lines = summary_table(store).splitlines()
    assert lines[-1].endswith("  normal: add(dil_conv_3x3@1, sep_conv_7x7@0) ...")
    assert max(len(line) for line in lines) < 120


def test_short_genotype_keeps_whole_blocks_and_leaves_short_text_alone():
    two_blocks = "normal: add(dil_conv_3x3@1, sep_conv_7x7@0) concat(max_pool_3x3@0, conv_1x1@0) ..."
    assert short_genotype(GENOTYPE, 90) == two_blocks
    assert short_genotype("|nor_conv_3x3~0|+|skip_connect~0|", 10) == "|nor_conv_ ..."
    assert short_genotype("|avg_pool_3x3~0|") == "|avg_pool_3x3~0|"


def test_the_first_eta_divides_the_trials_own_duration_by_the_workers(tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    lines = []
    printer = ProgressPrinter(8, TrialStore(tmp_path), lambda: 1, lines.append)  # two at a time
    clock[0] += 80.0  # Ray's start and the data's loading came first: the first trial took 50 s of it
    printer(_record(0, setup_s=10.0))
    assert "ETA 3m30s" in lines[0]  # 7 trials of 60 s, two at a time; the pace since the start said 9m20s
    clock[0] += 5.0
    printer(_record(1))
    assert "ETA 2m45s" in lines[1]  # 6 trials of 55 s (the mean), two at a time; the pace since the start: 4m15s


def test_counts_agree_with_their_nouns():
    assert (count_of(1, "epoch"), count_of(3, "epoch"), count_of(0, "trial")) == ("1 epoch", "3 epochs", "0 trials")
    assert count_of("?", "epoch") == "? epochs" and count_of(1, "search", "searches") == "1 search"
    line = describe_recipe({"name": "proxy", "epochs": 1, "batch_size": 128, "lr": 0.08, "channels": 16, "cells": 8})
    assert "proxy: 1 epoch, batch 128" in line and "8 cells" in line


def test_the_readme_documents_every_trials_csv_column():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("The columns of `trials.csv`"):].split("\n\n")[1]
    documented = set(re.findall(r"`(\w+)`", section))
    assert {field.name for field in dataclasses.fields(TrialRecord)} <= documented
