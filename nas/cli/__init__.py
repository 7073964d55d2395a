"""The `nas` command. Each subcommand lives in its own module that registers its parser."""

from __future__ import annotations

import argparse
import importlib
import sys

from nas.errors import NasError

# Modules that register subcommands; each has `register(subparsers)`.
COMMAND_MODULES = (
    "nas.cli.model_commands",  # ops, space, show, profile
    "nas.cli.train_command",  # train
    "nas.cli.search_command",  # search
    "nas.cli.bench_command",  # bench
)


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; users asked for one line naming the problem."""

    def error(self, message: str):  # noqa: D401 - argparse API
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="nas", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:  # that command is not built yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except NasError as error:
        print(f"nas {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nas {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
