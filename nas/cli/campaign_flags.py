"""The flags `nas transfer` and `nas compare` share (the data, recipe, seeds and cluster) and what both print at the
end; the campaign itself is nas.evaluation.campaign's."""

from __future__ import annotations

from nas.cli.commands import output_place
from nas.cli.shared_flags import (add_data_flag, add_dataset_flag, add_depth_flag, add_gpus_per_trial_flag,
                                  add_import_flag, add_test_subset_flag)
from nas.cluster.resources import Resources


def add_campaign_arguments(parser, default_recipe: str, deprecated_cells: bool = False) -> None:
    """`deprecated_cells`: also take the old `--cells N` for --depth (`nas transfer`; `nas compare`'s --cells is
    its list of cells)."""
    add_data_flag(parser)
    add_dataset_flag(parser)
    parser.add_argument("--subset", type=int, help="train on a class-balanced subset of this many images")
    add_test_subset_flag(parser)
    parser.add_argument("--recipe", default=default_recipe, help=f"proxy, full or a recipe YAML (default "
                                                                 f"{default_recipe})")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--batch-size", type=int, help="override the recipe's batch size")
    parser.add_argument("--channels", type=int, help="initial channels C of the cell networks")
    add_depth_flag(parser, deprecated_cells)
    parser.add_argument("--seeds", type=int, default=1, help="runs of each network, seeds 0..S-1 (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="runs at once (default 1)")
    parser.add_argument("--cpus-per-trial", type=float, default=1)
    add_gpus_per_trial_flag(parser, default=0)
    parser.add_argument("--ray-address", help="join a Ray cluster: auto or HOST:PORT (default: a local Ray)")
    add_import_flag(parser)
    parser.add_argument("--cache-dir", help="where decoded datasets are cached")
    parser.add_argument("--results-dir", default="results", type=output_place,
                        help="where result folders go (default results)")


def campaign_options(args):
    """The parsed flags as the campaign driver takes them (nas.evaluation.campaign)."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.evaluation.campaign import CampaignOptions

    return CampaignOptions(
        data=args.data, dataset=args.dataset, subset=args.subset, test_subset=args.test_subset,
        cache_dir=args.cache_dir, recipe=args.recipe,
        recipe_overrides={"epochs": args.epochs, "batch_size": args.batch_size, "channels": args.channels,
                          "cells": args.depth},
        seeds=args.seeds, resources=Resources(workers=args.workers, cpus_per_trial=args.cpus_per_trial,
                                              gpus_per_trial=args.gpus_per_trial),
        ray_address=args.ray_address, imports=tuple(args.imports))


def print_outcome(outcome, command: str) -> int:
    """The summary, where its files are, and the exit status: 1 when a run failed, 130 after Ctrl-C."""
    print()
    print(outcome.paths.summary_document.read_text())
    print(f"rows: {outcome.paths.runs}; summary: {outcome.paths.summary_document}")
    if outcome.interrupted:
        print(f"nas {command}: interrupted; the runs that finished are kept: the same command again trains the rest")
        return 130
    return 0 if outcome.failed == 0 else 1
