"""The registry of `nas` subcommands and the argparse pieces every command shares.

A command is one function registered with `@register_command(name, help=..., arguments=...)`: `arguments(parser)`
adds its flags, the function runs with the parsed arguments and returns the exit code. Every module of this
package is imported when the parser is built; a user's command comes from a module named in NAS_IMPORT.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable, Iterable

from nas.registry import Registry
from nas.samplers import MAX_SEED, SAMPLERS

COMMANDS: "Registry[CommandSpec]" = Registry("command", discover=("nas.cli",))


@dataclass(frozen=True)
class CommandSpec:
    name: str
    run: Callable[[argparse.Namespace], int | None]
    help: str
    description: str
    arguments: Callable[[argparse.ArgumentParser], None]


def register_command(name: str, *, help: str, arguments: Callable[[argparse.ArgumentParser], None] = lambda _: None,
                     replace: bool = False):
    """Function decorator: `nas <name>` parses `arguments` and calls the function; its docstring describes it."""

    def add(run):
        description = (run.__doc__ or help).strip()
        COMMANDS.register(name, CommandSpec(name, run, help, description, arguments), replace=replace)
        return run

    return add


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a 0 would otherwise read as "not given", the default)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed_number(text: str) -> int:
    """An argparse type for a seed: a whole number in 0..2**32-1, the range every random generator takes."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed must be between 0 and 2**32 - 1 ({MAX_SEED}), got {value}")
    return value


def output_place(text: str) -> str:
    """An argparse type for where output goes: an empty one would mean the current folder, never what was meant."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must name a folder or file, got {text!r}")
    return text


def plain_name(text: str) -> str:
    """An argparse type for a folder's name under the results: no path, nothing hidden, not empty."""
    if not text.strip() or "/" in text or text.startswith("."):
        raise argparse.ArgumentTypeError(f"must be a plain folder name, got {text!r}")
    return text


class RegisteredName:
    """An argparse `type` that accepts the names in a registry (checked when the flag is used, so building the
    parser loads no registry), and lists them where a help text says %(type)s.

    `check=False` leaves the check to the command, for names a module it imports later may register (a search's
    `--import`)."""

    def __init__(self, names: Callable[[], Iterable[str]], kind: str, extra: Iterable[str] = (), check: bool = True):
        self.names = names
        self.kind = kind
        self.extra = tuple(extra)
        self.check = check

    def valid(self) -> list[str]:
        return [*self.extra, *self.names()]

    @property
    def __name__(self) -> str:  # argparse's help formatting reads the type's __name__
        return ", ".join(self.valid())

    def __call__(self, value: str) -> str:
        if not self.check:
            return value
        valid = self.valid()
        if value not in valid:
            raise argparse.ArgumentTypeError(f"unknown {self.kind} {value!r}; valid: {', '.join(valid)}")
        return value


def stack_name() -> RegisteredName:
    def names():
        # When the flag is used or help is shown, not when the parser is built: the model registry loads torch.
        from nas.models.registry import model_names

        return model_names("stack")

    return RegisteredName(names, "network stack")


def dataset_name(check: bool = True) -> RegisteredName:
    def names():
        # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
        from nas.data.sources import dataset_choices

        return dataset_choices()

    return RegisteredName(names, "dataset", check=check)


def sampler_name(extra: Iterable[str] = (), check: bool = True) -> RegisteredName:
    def names():
        return SAMPLERS.names()

    return RegisteredName(names, "sampler", extra, check=check)
