"""`nas bench nasbench201`: measure samplers on the NAS-Bench-201 table (minutes on a laptop, no training)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from nas.atomic_files import check_writable_folder
from nas.cli.commands import MAX_SEED, output_place, positive_int, register_command, sampler_name, seed_number
from nas.errors import ConfigError
from nas.plural import count_of
from nas.yaml_files import load_yaml_text
from nas.samplers import SAMPLERS, make_sampler

BENCHMARKS = ("nasbench201",)


def _bench_arguments(parser) -> None:
    parser.add_argument("benchmark", choices=BENCHMARKS)
    parser.add_argument("--table", required=True, help="the benchmark CSV (e.g. nb201_cifar10.csv)")
    parser.add_argument("--dataset", default="cifar10",
                        help="which of the table's datasets to search: cifar10 (default), cifar100, ImageNet16-120; "
                             "selects the columns <dataset>_valid_acc_12ep, <dataset>_test_acc_200ep, "
                             "params_M_<dataset>, flops_M_<dataset>")
    parser.add_argument("--sampler", default="all", type=sampler_name(extra=("all",)),
                        help="%(type)s (default all)")
    parser.add_argument("--budget", type=int, default=100, help="distinct cells evaluated per search (default 100)")
    parser.add_argument("--runs", type=int, default=100, help="independent searches per sampler (default 100)")
    parser.add_argument("--seed", type=seed_number, default=0, help="run k uses seed SEED+k (default 0)")
    parser.add_argument("--out", type=output_place, help="folder for summary.csv, curves.csv and nasbench201.png")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="[SAMPLER.]KEY=VALUE",
        help="sampler option (YAML value); KEY=VALUE goes to every chosen sampler, SAMPLER.KEY=VALUE to one",
    )
    guided = parser.add_argument_group("guided by a zero-cost proxy (README: NAS-Bench-201)")
    guided.add_argument("--scores", metavar="FILE",
                        help="a NAS-Bench-201 scores table (results/zero-cost/nasbench201_scores.csv): every sampler "
                             "is guided by a proxy looked up in it; scoring seconds are counted apart from the budget")
    guided.add_argument("--proxy", help="a proxy, names joined by commas (their rank vote), or vote: of params and "
                                        "synflow (default vote)")
    guided.add_argument("--warm-start", type=int, metavar="M",
                        help="score M random cells first and start each sampler from the best (default 1000; 0: none)")
    guided.add_argument("--warm-start-count", type=positive_int, metavar="N",
                        help="how many of them (default: the sampler's start-up size)")
    guided.add_argument("--screen", type=positive_int, metavar="K",
                        help="each trained cell is the best by proxy of K the sampler proposes (default 3; 1: none)")


@register_command("bench", help="measure samplers on a tabular benchmark (NAS-Bench-201)", arguments=_bench_arguments)
def run_bench(args: argparse.Namespace) -> int:
    """Run each sampler many times on a lookup table and report the test accuracy of the cell it picks (best by
    the 12-epoch validation signal the sampler saw) after BUDGET distinct cells."""
    # Heavy imports here so `nas --help` stays fast.
    import optuna
    import torch

    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.analysis.benchmark_report import dataset_title, sampler_results_markdown
    from nas.analysis.published_results import nasbench201_published
    from nas.progress_bars import progress_bar
    from nas.bench.tabular_benchmark import benchmark_sampler

    table, names, options, guidance = _check_request(args)
    # Published rows come from full-length searches: beside a search of under 100 cells they would mislead.
    published = nasbench201_published(table.dataset) if args.budget >= 100 else []
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one "trial finished" line per ask would drown the table
    torch.set_num_threads(1)  # the controller's LSTM is tiny: threads cost more than they give

    summaries = []
    for name in names:
        with progress_bar(total=args.runs, desc=name, unit="run") as bar:
            summary = benchmark_sampler(
                table, name, budget=args.budget, runs=args.runs, seed=args.seed, options=options[name],
                progress=lambda done: bar.update(1), guidance=guidance,
            )
        row = summary.row()
        scoring = (f"; {guidance.label} scored {row['cells_scored_mean']:.0f} cells a run ({row['scoring_s_mean']:.1f} "
                   f"s as the table records), {row['unscored_cells_mean']:.0f} of them without a score in the table"
                   if guidance else "")
        print(
            f"{name}: {count_of(args.runs, 'run')} in {summary.seconds:.1f} s, picked cell test "
            f"{row['test_mean']:.2f} ± {row['test_std']:.2f} %, regret {row['regret_mean']:.2f}{scoring}",
            file=sys.stderr,
            flush=True,
        )
        summaries.append(summary)

    name = f"NAS-Bench-201 {dataset_title(table.dataset)}"
    print(f"\n{name} ({table.path.name}), budget {args.budget} distinct cells, optimum {table.optimum:.2f}; "
          f"@N = mean test accuracy of the cell picked after N evaluations\n")
    if guidance:
        settings = guidance.settings
        print(f"Guided by {guidance.label} from {guidance.scores.path.name}: warm start from the best of "
              f"{settings.warm_start_pool} cells, each trained cell the best of {settings.screen} proposed; scoring "
              f"(s/run) = the seconds the table records for the cells scored, not counted in the budget\n")
    print(sampler_results_markdown(summaries, published))
    if args.out:
        _write_outputs(Path(args.out), summaries, table,
                       title=f"{name}: {count_of(args.runs, 'run')} per sampler, budget {args.budget}")
    return 0


def _check_request(args):
    """The table, the samplers and their options, the guidance, all checked (and --out) before the first run."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.bench.tabular_benchmark import BenchmarkTable

    if args.budget < 1:
        raise ConfigError(f"--budget must be at least 1 cell, got {args.budget}")
    if args.runs < 1:
        raise ConfigError(f"--runs must be at least 1, got {args.runs}")
    if args.seed + args.runs - 1 > MAX_SEED:  # run k uses seed SEED+k
        raise ConfigError(f"--seed {args.seed} with --runs {args.runs} would use seeds past 2**32 - 1 ({MAX_SEED}), "
                          f"the largest a sampler takes")
    if args.out:
        check_writable_folder(args.out, "--out")
    names = SAMPLERS.names() if args.sampler == "all" else [args.sampler]
    options = parse_options(args.option, names)
    table = BenchmarkTable.read_csv(args.table, dataset=args.dataset)
    for name in names:  # every sampler's options before the first run, not after the runs of the samplers before it
        make_sampler(name, table.space.decisions, seed=args.seed, **options[name])
    return table, names, options, _check_guidance(args, table.space)


def _check_guidance(args, space):
    """The proxy guidance --scores asks for (None without it): the table read and its columns checked."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.bench.tabular_benchmark import TableGuidance, guidance_settings
    from nas.zero_cost.nasbench201_scores import read_scores_table

    flags = {"--proxy": args.proxy, "--warm-start": args.warm_start, "--warm-start-count": args.warm_start_count,
             "--screen": args.screen}
    if not args.scores:
        given = [flag for flag, value in flags.items() if value is not None]
        if given:
            raise ConfigError(f"{given[0]} guides a search by a proxy from a scores table: give --scores FILE too")
        return None
    if args.warm_start is not None and args.warm_start < 0:
        raise ConfigError(f"--warm-start must be 0 (no warm start) or more cells, got {args.warm_start}")
    chosen = {key: value for key, value in (("warm_start_pool", args.warm_start), ("screen", args.screen),
                                            ("warm_start_count", args.warm_start_count)) if value is not None}
    settings = guidance_settings(**({"proxy": args.proxy} if args.proxy else {}), **chosen)
    return TableGuidance(settings, read_scores_table(args.scores, space))


def _write_outputs(out: Path, summaries, table, title: str) -> None:
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.analysis.benchmark_plot import plot_search_curves
    from nas.analysis.benchmark_report import curves_frame, sampler_results_frame, write_csv_atomically

    write_csv_atomically(sampler_results_frame(summaries, table=table.path, table_sha256=table.sha256,
                                               dataset=table.dataset), out / "summary.csv")
    write_csv_atomically(curves_frame(summaries), out / "curves.csv")
    plot_search_curves(summaries, out / "nasbench201.png", optimum=table.optimum, title=title)
    print(f"\nwrote {out / 'summary.csv'}, {out / 'curves.csv'}, {out / 'nasbench201.png'}")


def parse_options(items: list[str], names: list[str]) -> dict[str, dict]:
    """`KEY=VALUE` for every chosen sampler, `SAMPLER.KEY=VALUE` for one; values are YAML (5, 0.1, true, null)."""
    options: dict[str, dict] = {name: {} for name in names}
    for item in items:
        key, equals, text = item.partition("=")
        if not equals or not key:
            raise ConfigError(f"--option {item!r} should read KEY=VALUE or SAMPLER.KEY=VALUE")
        try:
            value = load_yaml_text(text)
        except (yaml.YAMLError, ValueError):
            value = text
        target, dot, option = key.partition(".")
        if dot:
            if target not in options:
                raise ConfigError(f"--option {item!r} names sampler {target!r}, which is not being run ({', '.join(names)})")
            options[target][option] = value
        else:
            for name in names:
                options[name][key] = value
    return options
