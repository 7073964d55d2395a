"""A new `nas` subcommand: `nas hello --name NAME`."""

from __future__ import annotations

from nas.cli.commands import register_command


def _arguments(parser):
    parser.add_argument("--name", default="world")


@register_command("hello", help="say hello", arguments=_arguments)
def run_hello(args) -> int:
    """Print a greeting."""
    print(f"hello, {args.name}")
    return 0
