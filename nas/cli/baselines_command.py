"""`nas baselines`: every hand-designed network by name, with its paper, scale and parameter counts."""

from __future__ import annotations

import sys

from nas.cli.commands import register_command
from nas.recorded_baselines import RECORDED_TABLE, BaselineRow, millions, read_recorded_rows, write_recorded_rows


def _arguments(parser) -> None:
    parser.add_argument("--scale", choices=("CIFAR", "ImageNet"), help="only networks designed for this input scale")
    parser.add_argument("--format", choices=("text", "markdown"), default="text",
                        help="text (default) or a markdown table, as in the README")
    parser.add_argument("--recount", action="store_true",
                        help=f"build every baseline, count it again and record the counts in {RECORDED_TABLE.name} "
                             f"(after changing a network's definition; the table is otherwise read from there)")


@register_command("baselines", help="list the hand-designed baselines with their papers and sizes",
                  arguments=_arguments)
def run_baselines(args) -> int:
    """List every baseline: name, input scale (CIFAR: 32 px, ImageNet: 224 px), our parameter count at the published
    class count (10 or 1000) beside the published one, our multiply-adds beside the paper's where it gives them,
    and the paper that designed it."""
    rows = [row for row in _all_rows(args.recount) if args.scale is None or row.scale == args.scale]
    table = [(row.name, row.scale, _ours(row), published_cell(row), _macs(row), row.paper)
             for row in rows]
    header = ("name", "scale", "params (ours)", "published", "multiply-adds (ours / published)", "paper")
    if args.format == "markdown":
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(" --- " for _ in header) + "|")
        for line in table:
            print("| " + " | ".join(f"`{line[0]}`" if i == 0 else line[i] for i in range(len(line))) + " |")
        return 0
    widths = [max(len(str(line[i])) for line in (header, *table)) for i in range(len(header) - 1)]
    for line in (header, *table):
        print("  ".join(f"{cell:<{width}}" for cell, width in zip(line, widths)) + "  " + line[-1])
    return 0


def _all_rows(recount: bool) -> list[BaselineRow]:
    """The recorded table, read without torch, unless the networks must be built: to recount them, or because a
    user's module (NAS_IMPORT) loaded the model registry and may have registered baselines the file lacks."""
    if not recount and "nas.models.registry" not in sys.modules:
        return read_recorded_rows()
    # Torch and every network, only when they must be built: the recorded table needs neither.
    from nas.models.baseline_table import baseline_rows, counted_rows

    if not recount:
        return baseline_rows()
    rows = counted_rows()
    write_recorded_rows(rows, RECORDED_TABLE)
    print(f"recounted {len(rows)} baselines into {RECORDED_TABLE}", file=sys.stderr)
    return rows


def published_cell(row: BaselineRow) -> str:
    if row.published is None:
        return "not published"
    if row.source == "torchvision":
        return f"{row.published:,} (torchvision)"
    return row.published_text or millions(row.published)


def _macs(row: BaselineRow) -> str:
    if row.published_macs is None:
        return "-"
    return f"{millions(row.macs)} / {row.published_macs_text or millions(row.published_macs)}"


def _ours(row: BaselineRow) -> str:
    return f"{row.params:,}" if row.source == "torchvision" else millions(row.params)
