"""`nas transfer`: retrain the best cells of a search at full size, on the CIFAR stack or ImageNet-scale stacks."""

from __future__ import annotations

from pathlib import Path

from nas.cli.campaign_flags import add_campaign_arguments, campaign_options, print_outcome
from nas.cli.commands import plain_name, register_command, stack_name


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
    from nas.evaluation.campaign import transfer

    outcome = transfer(Path(args.experiment), campaign_options(args), top=args.top, pareto=args.pareto,
                       stack=args.stack, name=args.name)
    return print_outcome(outcome, "transfer")
