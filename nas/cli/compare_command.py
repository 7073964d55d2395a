"""`nas compare`: found or published cells against hand-designed baselines, under one recipe and budget."""

from __future__ import annotations


from nas.cli.campaign_flags import add_campaign_arguments, campaign_options, print_outcome
from nas.cli.commands import plain_name, register_command


def _arguments(parser) -> None:
    parser.add_argument("--cells", dest="cell_names", default="", metavar="NAME|FILE,...",
                        help="published cell names (darts-v2) or genotype files (results/<exp>/best.yaml); "
                             "their depth is --depth")
    parser.add_argument("--baselines", default="", metavar="NAME,...", help="e.g. resnet20,resnet56,densenet_bc100")
    parser.add_argument("--name", required=True, type=plain_name, help="the comparison's folder: "
                                                                       "RESULTS_DIR/compare/NAME/")
    add_campaign_arguments(parser, default_recipe="proxy")


@register_command("compare", help="train cells and baselines under one recipe and tabulate test accuracy",
                  arguments=_arguments)
def run_compare(args) -> int:
    """Train every named cell and baseline for each seed under one recipe (Ray Tune trials, in parallel), then
    write one table: test accuracy mean ± std over seeds, params, multiply-adds, training time, images/s."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.evaluation.campaign import compare

    cells = [name for name in args.cell_names.split(",") if name]
    baselines = [name for name in args.baselines.split(",") if name]
    outcome = compare(cells, baselines, campaign_options(args), name=args.name, results_dir=args.results_dir)
    return print_outcome(outcome, "compare")
