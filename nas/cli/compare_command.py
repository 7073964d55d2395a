"""`nas compare`: found or published cells against hand-designed baselines, under one recipe and budget."""

from __future__ import annotations

from pathlib import Path

from nas.cli.campaign_options import add_campaign_arguments, campaign_options, print_outcome
from nas.cli.commands import plain_name, register_command
from nas.errors import ConfigError


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
    from nas.evaluation.campaign import check_campaign_folder, load_campaign_recipe, load_final_splits, run_campaign
    from nas.evaluation.jobs import comparison_jobs

    cells = [name for name in args.cell_names.split(",") if name]
    baselines = [name for name in args.baselines.split(",") if name]
    if not cells and not baselines:
        raise ConfigError("nothing to compare: name --cells and/or --baselines")
    options = campaign_options(args)
    recipe = load_campaign_recipe(options)
    jobs = comparison_jobs(cells, baselines, args.seeds)
    folder = Path(args.results_dir) / "compare" / args.name
    check_campaign_folder(folder, recipe)
    splits = load_final_splits(options)
    notes = [f"cells: {', '.join(cells) or 'none'}; baselines: {', '.join(baselines) or 'none'}"]
    return print_outcome(run_campaign(options, jobs, folder, recipe, splits, f"Comparison {args.name}", notes))
