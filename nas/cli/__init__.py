"""The `nas` command. Each subcommand registers itself in nas.cli.commands; this module builds the parser."""

from __future__ import annotations

import argparse
import sys

from nas.cli.commands import COMMANDS
from nas.errors import Interrupted, NasError
from nas.registry import import_modules_from_environment


DESCRIPTION = ("Neural architecture search over NASNet-style cells: search, train, transfer, compare and report. "
               "NAS_IMPORT=module[,module] first imports modules that register your own ops, models, spaces, "
               "samplers, datasets or commands.")


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; users asked for one line naming the problem."""

    def error(self, message: str):  # noqa: D401 - argparse API
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="nas", description=DESCRIPTION)
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for name, spec in COMMANDS.items():
        command = subparsers.add_parser(name, help=spec.help, description=spec.description)
        spec.arguments(command)
        command.set_defaults(func=spec.run, parser=command)
    return parser


def parse_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """argparse leaves a subcommand's unknown flags to the top parser, which names itself (`nas: error: ...`);
    the subcommand's own parser reports them, so the line says which command did not know the flag."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        before_command = argv.index(unknown[0]) < argv.index(args.command)
        (parser if before_command else args.parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        import_modules_from_environment()  # NAS_IMPORT: modules that register commands, ops, samplers...
    except NasError as error:
        print(f"nas: error: {error}", file=sys.stderr)
        return 2
    parser = build_parser()
    try:
        args = parse_arguments(parser, argv)
    except SystemExit as stop:  # a bad flag (one line already printed, code 2) or --help (code 0)
        return int(stop.code or 0)
    try:
        result = args.func(args)
    except NasError as error:
        print(f"nas {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # Ctrl-C: one line (what was kept, how to go on), the shell's code for it
        detail = str(stop) if isinstance(stop, Interrupted) else ""
        print(f"nas {args.command}: interrupted" + (f": {detail}" if detail else ""), file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
