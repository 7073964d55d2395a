"""`nas transfer`: retrain the best cells of a search at full size, on the CIFAR stack or ImageNet-scale stacks."""

from __future__ import annotations

from pathlib import Path

from nas.cli.campaign_options import add_campaign_arguments, campaign_options, print_outcome
from nas.cli.commands import plain_name, register_command, stack_name
from nas.errors import ConfigError


def _arguments(parser) -> None:
    parser.add_argument("experiment", help="a search's folder, e.g. results/quick")
    parser.add_argument("--top", type=int, default=1, help="how many of the best cells (default 1)")
    parser.add_argument("--pareto", action="store_true",
                        help="take them from the accuracy/params Pareto front instead of by accuracy alone")
    parser.add_argument("--stack", type=stack_name(), help="%(type)s (default: by image size)")
    parser.add_argument("--name", type=plain_name, help="the transfer's folder: EXPERIMENT/transfer/NAME/ (default "
                                                        "STACK-RECIPE)")
    add_campaign_arguments(parser, default_recipe="full", deprecated_cells=True)


@register_command("transfer", help="retrain a search's best cells at full size (CIFAR or ImageNet stacks)",
                  arguments=_arguments)
def run_transfer(args) -> int:
    """Retrain the top K cells of a search (or its accuracy/params Pareto front) at full size, each cell and seed
    one Ray Tune trial, into EXPERIMENT/transfer/NAME/ with one table. Running it again continues it."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.evaluation.campaign import check_campaign_folder, load_campaign_recipe, load_final_splits, run_campaign
    from nas.evaluation.cell_selection import finished_cells, jobs_for_cells, pareto_cells, top_cells

    if args.top < 1:
        raise ConfigError("--top must be at least 1")
    experiment = Path(args.experiment)
    finished = finished_cells(experiment)
    cells = pareto_cells(finished, args.top) if args.pareto else top_cells(finished, args.top)
    options = campaign_options(args)
    recipe = load_campaign_recipe(options)
    jobs = jobs_for_cells(experiment.name, cells, args.seeds, args.stack)
    name = args.name or f"{args.stack or 'auto'}-{recipe.name}"
    folder = experiment / "transfer" / name
    check_campaign_folder(folder, recipe)
    splits = load_final_splits(options)
    how = "the accuracy/params Pareto front" if args.pareto else "best validation accuracy"
    notes = [f"{len(cells)} cell(s) of search {experiment.name} by {how}, stack {args.stack or 'by image size'}"]
    return print_outcome(run_campaign(options, jobs, folder, recipe, splits,
                                      f"Transfer of {experiment.name} ({name})", notes))
