"""`nas score`: zero-cost proxies of cell networks, baselines or cells drawn from a space, one row per network.

Each network is built as a search builds its candidates (nas.train.network_for_data with the proxy recipe's width
and depth) and scored on the first --batch-size images of the search's training split (nas.zero_cost.batch).
The CSV is written once, atomically, at the end: the rank vote is relative to every network scored, so a row is
only final once the last network is. A run is tens of networks of about a second each; the resumable writer
(nas.zero_cost.score_table) is for the benchmark's 15,625-cell table.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

from nas.atomic_files import check_writable_file, write_text_atomic
from nas.cli.commands import output_place, positive_int, register_command, seed_number, stack_name
from nas.cli.shared_flags import add_data_flag, add_dataset_flag, add_depth_flag, add_import_flag
from nas.errors import ConfigError, Interrupted
from nas.plural import count_of
from nas.registry import import_user_modules

ALWAYS_SCORED = ("params", "macs")  # every row says what the network costs, whichever proxies are asked for
DEFAULT_BATCH = 64  # nas.zero_cost.DEFAULT_BATCH_SIZE, repeated so that building the parser loads no torch
NAME_WIDTH = 24  # at most: a longer name is cut short on screen (the CSV has it whole)


@dataclass(frozen=True)
class NetworkToScore:
    """`name` is for people (a published name, a file's stem, sample-3); `key` identifies the network in the CSV
    (a genotype's one-line form, a baseline's name); exactly one of `genotype` and `baseline` is set."""

    name: str
    key: str
    genotype: object = None
    baseline: str | None = None


def _score_arguments(parser) -> None:
    parser.add_argument("--genotype", nargs="+", default=[], metavar="NAME|FILE|TEXT",
                        help="published cell names, genotype files or one-line genotypes")
    parser.add_argument("--baseline", nargs="+", default=[], metavar="NAME", help="hand-designed networks")
    parser.add_argument("--space", metavar="FILE", help="search space YAML to draw --sample cells from")
    parser.add_argument("--sample", type=positive_int, metavar="N", help="how many distinct cells to draw")
    add_data_flag(parser)
    add_dataset_flag(parser)
    parser.add_argument("--subset", type=int, help="a class-balanced subset of this many images, as nas train")
    parser.add_argument("--val-size", type=int, help="held-out validation images (default 10%% of the pool)")
    parser.add_argument("--proxies", metavar="A,B,...",
                        help="comma-separated proxies (default: all registered); params and macs always")
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH,
                        help=f"images the proxies see: the first of the training split (default {DEFAULT_BATCH})")
    parser.add_argument("--channels", type=positive_int, help="initial channels C of a cell network (default: the "
                                                               "proxy recipe's, what a search trains)")
    add_depth_flag(parser, type=positive_int,  # a new command: no deprecated --cells for the depth
                   help="number of cells of a cell network, reductions included (default: the proxy recipe's)")
    parser.add_argument("--stack", type=stack_name(), help="how a cell is stacked: %(type)s (default: by image size)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    parser.add_argument("--seed", type=seed_number, default=0,
                        help="the split, the networks' initial weights and the cells drawn (default 0)")
    parser.add_argument("--cache-dir", help="where decoded datasets are cached (default $NAS_CACHE_DIR)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar while the data is decoded")
    add_import_flag(parser)
    parser.add_argument("--out", type=output_place, metavar="CSV", help="write the scores to this CSV")


@register_command("score", help="score networks with zero-cost proxies, before any training",
                  arguments=_score_arguments)
def run_score(args) -> int:
    """Score cell networks, baselines or cells drawn from a space with zero-cost proxies at initialisation: one
    row per network (params, MACs, each proxy, seconds), a rank vote over them, and a CSV with --out."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.train.device_choice import resolve_device
    from nas.zero_cost import check_proxy_names, proxy_names
    from nas.zero_cost.batch import proxy_batch

    import_user_modules(args.imports, where="--import")  # first: they may register proxies, ops or baselines
    requested = [name.strip() for name in args.proxies.split(",") if name.strip()] if args.proxies else proxy_names()
    proxies = check_proxy_names([*ALWAYS_SCORED, *requested])
    if args.out:
        check_writable_file(args.out, "--out")
    device = resolve_device(args.device)
    networks = _networks_to_score(args)
    recipe = _proxy_recipe(args)
    splits = _load_training_split(args)  # the checks below need the images counted and measured
    _check_networks_build(networks, recipe, splits, args)
    inputs, targets = proxy_batch(splits, args.batch_size, device)
    print(f"scoring {count_of(len(networks), 'network')} with {', '.join(proxies)} on {args.batch_size} training "
          f"images ({device}, seed {args.seed})")
    rows = _score_all(networks, proxies, recipe, splits, inputs, targets, args)
    table = _table(rows, proxies)
    if args.out:
        _write_csv(args.out, table)
    _print_ending(table, args.out)
    return 0


# --- what to score --------------------------------------------------------------------------------------------

def _networks_to_score(args) -> list[NetworkToScore]:
    """The networks named, checked before the data is read: an unknown cell or baseline is one line."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.models import get_model, resolve_genotype_for_model
    from nas.space.genotype_files import declared_name
    from nas.space.nasbench201 import NasBench201Space, is_nasbench201_arch

    if args.space is not None and (args.genotype or args.baseline):
        raise ConfigError("--space draws its own cells: give it without --genotype and --baseline")
    if (args.space is None) != (args.sample is None):
        raise ConfigError("--space FILE and --sample N go together: draw N cells of that space")
    if args.space is not None:
        return _sampled_cells(args.space, args.sample, args.seed)
    if not args.genotype and not args.baseline:
        raise ConfigError("nothing to score: give --genotype, --baseline, or --space FILE --sample N")
    networks = []
    for text in args.genotype:
        if is_nasbench201_arch(text):  # the benchmark's own network; the string is its key, checked here
            arch = NasBench201Space().decode(NasBench201Space().encode(text))
            networks.append(NetworkToScore(f"nb201-{hashlib.sha256(arch.encode()).hexdigest()[:8]}", arch,
                                           genotype=arch))
            continue
        genotype = resolve_genotype_for_model(text)
        name = declared_name(text) or (Path(text).stem if Path(text).is_file() else f"cell-{genotype.hash()[:8]}")
        networks.append(NetworkToScore(name, str(genotype), genotype=genotype))
    for baseline in args.baseline:
        get_model(baseline, kind="baseline")
        networks.append(NetworkToScore(baseline, baseline, baseline=baseline))
    return networks


def _sampled_cells(space_file: str, count: int, seed: int) -> list[NetworkToScore]:
    """`count` distinct cells of the space, drawn uniformly from a generator seeded with `seed` (as a proxy-guided
    sampler draws its warm-start pool), decoded as a search decodes its candidates."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    import numpy as np

    from nas.space import load_space
    from nas.space.op_registry import OPS

    space = load_space(space_file)
    space.check_ops(OPS.all_names())
    rng = np.random.default_rng(seed)
    cells: dict[str, NetworkToScore] = {}
    for _ in range(100 * count):  # enough draws to find `count` distinct cells unless the space holds fewer
        candidate = space.decode(space.sample(rng))
        key = space.canonical_key(candidate)
        if key not in cells:
            cells[key] = NetworkToScore(f"sample-{len(cells) + 1}", str(candidate), genotype=candidate)
            if len(cells) == count:
                break
    if len(cells) < count:
        print(f"space {space.name}: {count_of(len(cells), 'distinct cell')} found in {100 * count} draws, "
              f"not the {count} asked for; scoring those")
    return list(cells.values())


def _load_training_split(args):
    """The search's split of the data (same seed, subset and validation size): the proxies see its first images."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.data import load_dataset, make_splits
    from nas.data.sources import AUTO

    dataset = load_dataset(args.dataset or AUTO, args.data, cache_dir=args.cache_dir, progress=not args.no_progress)
    splits = make_splits(dataset, purpose="search", val_size=args.val_size, subset=args.subset, seed=args.seed)
    print(f"{dataset.describe()}; {splits.describe()}")
    return splits


def _proxy_recipe(args):
    """The proxy recipe (what a search trains its candidates with): it holds a candidate's width and depth."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.train import load_recipe

    return load_recipe("proxy", {"channels": args.channels, "cells": args.depth})


def _builder(network: NetworkToScore, recipe, splits, args):
    """A function that builds `network` as a search builds a candidate (weights seeded by --seed)."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.train.network_for_data import network_for_data

    def build():
        return network_for_data(recipe=recipe, genotype=network.genotype, baseline=network.baseline,
                                stack=args.stack, num_classes=splits.num_classes, in_channels=splits.channels,
                                image_size=splits.image_size, seed=args.seed)

    return build


def _check_networks_build(networks: list[NetworkToScore], recipe, splits, args) -> None:
    """Build every network on the meta device (shapes only, no memory, no time), so a network the stack or the
    data rules out (an image too small for a baseline, channels a grouped op cannot split) is one line before any
    scoring, not a failure halfway through."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    import torch

    for network in networks:
        with torch.device("meta"):
            _builder(network, recipe, splits, args)()


# --- scoring and the table ------------------------------------------------------------------------------------

def _score_all(networks, proxies, recipe, splits, inputs, targets, args) -> list[dict]:
    """One row per network, printed as it is scored; on Ctrl-C the rows scored so far are written to --out."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.zero_cost import score_built_network

    width = min(max(len(network.name) for network in networks), NAME_WIDTH)
    print(_header(proxies, width))
    rows: list[dict] = []
    try:
        for network in networks:
            scores = score_built_network(_builder(network, recipe, splits, args), inputs, targets, proxies,
                                         num_classes=splits.num_classes, seed=args.seed)
            row = {"key": network.key, "name": network.name, **scores.values,
                   **{f"{proxy}_s": round(scores.seconds[proxy], 6) for proxy in proxies},
                   "reasons": "; ".join(scores.reasons[proxy] for proxy in proxies if proxy in scores.reasons)}
            rows.append(row)
            print(_line(row, proxies, scores.total_seconds, width))
    except KeyboardInterrupt:
        if args.out and rows:
            _write_csv(args.out, _table(rows, proxies))
        kept = f"the scores of {count_of(len(rows), 'network')} are in {args.out}" if args.out and rows else \
            "nothing was written"
        raise Interrupted(f"after {len(rows)} of {count_of(len(networks), 'network')}; {kept}") from None
    return rows


def _table(rows: list[dict], proxies: list[str]):
    """The CSV's table: key, name, each proxy (params, macs first), vote, each proxy's seconds, reasons. The vote is
    the mean percentile rank over its members, when they were all computed and there are networks to rank."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    import pandas as pd

    from nas.zero_cost.combine import VOTE, rank_vote, vote_members_available
    from nas.zero_cost.score_table import score_columns

    table = pd.DataFrame(rows, columns=score_columns(proxies, extra=("name",)))
    if vote_members_available(proxies) and len(table) >= 2:
        table.insert(2 + len(proxies), VOTE, rank_vote(table))
    for count in ALWAYS_SCORED:  # whole numbers in the CSV; empty where the count failed
        table[count] = table[count].round().astype("Int64")
    return table


def _write_csv(out: str, table) -> None:
    write_text_atomic(out, table.to_csv(index=False))


def _header(proxies: list[str], width: int) -> str:
    columns = [f"{'name':<{width}}", f"{'params':>8}", f"{'MACs':>8}",
               *(f"{proxy:>{_width(proxy)}}" for proxy in proxies if proxy not in ALWAYS_SCORED), f"{'seconds':>7}"]
    return "  ".join(columns)


def _line(row: dict, proxies: list[str], seconds: float, width: int) -> str:
    name = row["name"] if len(row["name"]) <= width else row["name"][:width - 3] + "..."
    columns = [f"{name:<{width}}", f"{_millions(row['params']):>8}", f"{_millions(row['macs']):>8}",
               *(f"{_number(row[proxy]):>{_width(proxy)}}" for proxy in proxies if proxy not in ALWAYS_SCORED),
               f"{seconds:>7.2f}"]
    return "  ".join(columns)


def _width(proxy: str) -> int:
    return max(len(proxy), 9)  # 9: a value printed as 1.234e+19


def _millions(count: float) -> str:
    return "-" if math.isnan(count) else f"{count / 1e6:.3f}M"


def _number(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4g}"


def _print_ending(table, out: str | None) -> None:
    """The vote's best network, each proxy that could not score a network (why), and where the CSV went."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.zero_cost.combine import DEFAULT_VOTE_MEMBERS, VOTE

    if VOTE in table and table[VOTE].notna().any():
        top = table[table[VOTE] == table[VOTE].max()]
        names = ", ".join(top["name"])
        tied = f" (tied at {top[VOTE].iloc[0]:.2f})" if len(top) > 1 else f" ({top[VOTE].iloc[0]:.2f})"
        print(f"best by rank vote of {', '.join(DEFAULT_VOTE_MEMBERS)}: {names}{tied}")
    for _, row in table[table["reasons"] != ""].iterrows():
        print(f"could not score {row['name']}: {row['reasons']}")
    if out:
        print(f"wrote {out} ({count_of(len(table), 'row')})")
