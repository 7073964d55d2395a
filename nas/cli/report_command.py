"""`nas report`: tables and pictures over searches, their transfers and comparisons, in one document."""

from __future__ import annotations

from pathlib import Path

from nas.atomic_files import check_writable_folder
from nas.cli.commands import output_place, register_command
from nas.errors import ConfigError

FORMATS = ("md", "html", "csv", "latex")


def _arguments(parser) -> None:
    parser.add_argument("folders", nargs="+", metavar="FOLDER",
                        help="search experiments (results/NAME) and comparisons (results/compare/NAME)")
    parser.add_argument("--format", choices=FORMATS, default="md",
                        help="md: report.md with PNGs beside it; html: one self-contained file; csv/latex: the "
                             "tables as files (pictures are always written)")
    parser.add_argument("--out", type=output_place, help="folder for the report (default: FOLDER/report of the first "
                                                         "folder)")
    parser.add_argument("--top", type=int, default=10, help="cells in each leaderboard (default 10)")


@register_command("report", help="tables and pictures over searches, transfers and comparisons",
                  arguments=_arguments)
def run_report(args) -> int:
    """Write one report over the searches and comparisons given: leaderboards, samplers side by side, search
    progress, accuracy against params and multiply-adds with the Pareto front, the ops of the best cells, cell
    diagrams, learning curves, decision importance, trials on their workers, transfer/comparison tables with the
    published numbers beside ours, and proxy against final accuracy."""
    # Imported when the command runs, not when the parser is built: pandas and matplotlib would slow every `nas`.
    from nas.analysis.experiment_results import is_campaign, is_search, load_campaign, load_search
    from nas.analysis.report import campaign_sections, search_sections
    from nas.analysis.report_document import write_html, write_markdown, write_tables
    from nas.analysis.report_views import proxy_link_section

    if args.top < 1:
        raise ConfigError("--top must be at least 1")
    out = Path(args.out) if args.out else Path(args.folders[0]) / "report"
    check_writable_folder(out, "--out")
    searches, campaigns = [], []
    for folder in map(Path, args.folders):
        if is_search(folder):
            searches.append(load_search(folder))
        elif is_campaign(folder):
            campaigns.append(load_campaign(folder))
        else:
            raise ConfigError(f"{folder} is neither a search (trials.csv) nor a transfer or comparison "
                              f"(runs.csv and summary.csv)")
    for search in searches:
        if search.finished.empty:
            raise ConfigError(f"search {search.name!r} has no finished trial to report")
    out.mkdir(parents=True, exist_ok=True)
    campaigns += [campaign for search in searches for campaign in search.campaigns]
    sections = ((search_sections(searches, out, args.top) if searches else []) + campaign_sections(campaigns, out)
                + proxy_link_section(searches, campaigns))
    title = "Report: " + ", ".join(Path(folder).name for folder in args.folders)
    if args.format == "md":
        written = [write_markdown(sections, title, out)]
    elif args.format == "html":
        written = [write_html(sections, title, out)]
    else:
        written = write_tables(sections, out, args.format)
    print("wrote " + ", ".join(str(path) for path in written) + f" (pictures in {out})")
    return 0
