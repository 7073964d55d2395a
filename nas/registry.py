"""One registration mechanism for everything the engine finds by name: ops, models, spaces, samplers, datasets
and CLI commands.

A registry maps names (and aliases) to entries. Entries are added with the registry's decorator, or with the
kind's own decorator (`register_op`, `register_sampler`, ...), which may add a description first:

    from nas.samplers import SAMPLERS, Sampler

    @SAMPLERS.register("my_sampler")  # the same as @register_sampler("my_sampler")
    class MySampler(Sampler): ...

A registry may take an `on_register(name, entry)` hook, called on every entry as it is added whichever way it
is added: the sampler registry sets the class's `name` there (what a saved sampler file records), the space
registry its `type`.

A registry knows where its built-in entries are registered (`discover`: modules, or packages whose modules are
all imported) and imports them the first time it is asked, so a caller never has to import the right module
first, and adding a built-in is one new file in that package. A user's entries come from modules named in a
config's `imports:` / `--import`, or from NAS_IMPORT for the `nas` command (see `import_user_modules`).
Lookups of unknown names raise ConfigError listing the valid names, which is what the CLI prints.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
from typing import Callable, Generic, Iterable, Iterator, TypeVar

from nas.errors import ConfigError, failure_line

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, *, discover: Iterable[str] = (), error: type[Exception] = ConfigError,
                 on_register: Callable[[str, T], None] | None = None):
        self.kind = kind  # "op", "sampler", ...: used in messages
        self._on_register = on_register  # called with (name, entry) on every entry added
        self._discover = tuple(discover)
        self._discovered = not self._discover
        self._imported: set[str] = set()  # the discover packages whose modules are imported
        self._error = error
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    # --- adding ------------------------------------------------------------------------------------------------
    def register(self, name: str, entry: T | None = None, *, aliases: Iterable[str] = (), replace: bool = False):
        """Add `entry` under `name` (and `aliases`); as a decorator when `entry` is not given.

        Registering a taken name or alias is an error unless `replace=True`."""
        aliases = tuple(aliases)

        def add(value: T) -> T:
            taken = [each for each in (name, *aliases) if each in self._entries or each in self._aliases]
            if taken and not replace:
                raise ValueError(f"{self.kind} {taken[0]!r} is already registered (pass replace=True to override)")
            if self._on_register is not None:
                self._on_register(name, value)
            self._entries[name] = value
            self._aliases.update({alias: name for alias in aliases})
            return value

        return add if entry is None else add(entry)

    # --- finding -----------------------------------------------------------------------------------------------
    def get(self, name: str) -> T:
        """The entry called `name` (or an alias of it); the registry's error listing the valid names otherwise.
        The packages to discover are imported one by one until the name is found (a cell network's stack is found
        without importing the model zoo, which brings torchvision: 1.3 s of a trial worker's start)."""
        self._load_until(name)
        entry = self._entries.get(self.canonical(name))
        if entry is None:
            raise self._error(f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}")
        return entry

    def canonical(self, name: str) -> str:
        """The registered name behind an alias; any other name unchanged."""
        self._load_until(name)
        return self._aliases.get(name, name)

    def names(self) -> list[str]:
        """Registered names in registration order (built-ins first); aliases not included."""
        self._load_builtins()
        return list(self._entries)

    def aliases_of(self, name: str) -> tuple[str, ...]:
        self._load_builtins()
        return tuple(alias for alias, target in self._aliases.items() if target == name)

    def all_names(self) -> set[str]:
        """Every name a user may write: registered names and their aliases."""
        self._load_builtins()
        return set(self._entries) | set(self._aliases)

    def items(self) -> Iterator[tuple[str, T]]:
        self._load_builtins()
        return iter(list(self._entries.items()))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        self._load_until(name)
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    @contextlib.contextmanager
    def restored_afterwards(self):
        """Undo whatever is registered inside the block (tests that register things use this)."""
        self._load_builtins()
        saved = dict(self._entries), dict(self._aliases)
        try:
            yield self
        finally:
            self._entries, self._aliases = saved

    # --- built-ins ---------------------------------------------------------------------------------------------
    def _load_builtins(self) -> None:
        if self._discovered:
            return
        self._discovered = True  # first, so modules that look themselves up while importing do not recurse
        for package in self._discover:
            self._import_package(package)

    def _load_until(self, name: str) -> None:
        """Import the discover packages in order until `name` is registered (all of them if it never is)."""
        for package in self._discover:
            if self._discovered or name in self._entries or name in self._aliases:
                return
            self._import_package(package)
        self._load_builtins()

    def _import_package(self, package: str) -> None:
        if package in self._imported:
            return
        self._imported.add(package)  # first, so modules that look themselves up while importing do not recurse
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            if not info.name.startswith("_"):
                importlib.import_module(f"{package}.{info.name}")


def import_user_modules(names: Iterable[str], where: str = "imports") -> None:
    """Import modules that register user ops, models, spaces, samplers, datasets or commands."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ConfigError(f"cannot import {name!r} listed in {where}: {error}") from None
        except Exception as error:  # the module itself failed while loading: the user's code, not the engine
            raise ConfigError(f"cannot import {name!r} listed in {where}: it raised {failure_line(error)}") from None


def import_modules_from_environment(variable: str = "NAS_IMPORT") -> None:
    """The `nas` command's plugins: NAS_IMPORT=module[,module...] is imported before the parser is built."""
    names = [name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()]
    import_user_modules(names, where=variable)

