"""The `nas` command. Each subcommand registers itself in nas.cli.commands; this module builds the parser."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from nas.cli.commands import COMMANDS
from nas.errors import Interrupted, NasError
from nas.registry import import_modules_from_environment


DESCRIPTION = ("Neural architecture search over NASNet-style cells: search, train, transfer, compare and report. "
               "NAS_IMPORT=module[,module] first imports modules that register your own ops, models, spaces, "
               "samplers, datasets or commands.")


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; users asked for one line naming the problem. Flags are matched whole:
    argparse's prefix matching read `nas train --lr 0.1` as --lr-backbone 0.1 and trained the backbone at a tenth
    of the rate without a word."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

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
    stopped_by, previous_handler = _stop_on_sigterm_as_on_ctrl_c()
    try:
        result = args.func(args)
    except NasError as error:
        print(f"nas {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM: one line (what was kept, how to go on)
        detail = str(stop) if isinstance(stop, Interrupted) else ""
        what = "terminated" if stopped_by == [signal.SIGTERM] else "interrupted"
        print(f"nas {args.command}: {what}" + (f": {detail}" if detail else ""), file=sys.stderr)
        return 128 + (stopped_by[0] if stopped_by else signal.SIGINT)  # the shell's code for the signal
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    return int(result or 0)


def _stop_on_sigterm_as_on_ctrl_c():
    """SIGTERM (`kill`, a batch scheduler's time limit) stops a command the way Ctrl-C does, so it cleans up and
    says in one line what was kept, instead of dying mid-write. Returns the list the signal is noted in, and the
    handler to put back afterwards (None where none could be set)."""
    noted: list = []
    command = os.getpid()

    def stop(signum, frame):
        if os.getpid() != command:
            # A forked child inherits the handler: a decoding pool's worker, which Pool.terminate ends with SIGTERM.
            # Raising there broke the worker's exit midway, and the pool could wait for it forever: die as asked.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        noted.append(signum)
        raise KeyboardInterrupt

    try:
        return noted, signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (main() called from a thread): keep the default
        return noted, None


if __name__ == "__main__":
    sys.exit(main())
