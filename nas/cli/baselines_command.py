"""`nas baselines`: every hand-designed network by name, with its paper, scale and parameter counts."""

from __future__ import annotations

from nas.cli.commands import register_command


def _arguments(parser) -> None:
    parser.add_argument("--scale", choices=("CIFAR", "ImageNet"), help="only networks designed for this input scale")
    parser.add_argument("--format", choices=("text", "markdown"), default="text",
                        help="text (default) or a markdown table, as in the README")


@register_command("baselines", help="list the hand-designed baselines with their papers and sizes",
                  arguments=_arguments)
def run_baselines(args) -> int:
    """List every baseline: name, input scale (CIFAR: 32 px, ImageNet: 224 px), our parameter count at the published
    class count (10 or 1000) beside the published one, our multiply-adds beside the paper's where it gives them,
    and the paper that designed it."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.models.baseline_table import baseline_rows, millions

    rows = [row for row in baseline_rows() if args.scale is None or row.scale == args.scale]
    table = [(row.name, row.scale, _ours(row, millions), published_cell(row, millions), _macs(row, millions), row.paper)
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


def published_cell(row, millions) -> str:
    if row.published is None:
        return "not published"
    if row.source == "torchvision":
        return f"{row.published:,} (torchvision)"
    return row.published_text or millions(row.published)


def _macs(row, millions) -> str:
    if row.published_macs is None:
        return "-"
    return f"{millions(row.macs)} / {row.published_macs_text or millions(row.published_macs)}"


def _ours(row, millions) -> str:
    return f"{row.params:,}" if row.source == "torchvision" else millions(row.params)
