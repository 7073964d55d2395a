"""The interface every sampler implements: ask for a decision vector, tell how it did.

Samplers see only the space's decisions (names and number of choices), never a network or Ray, so the same
sampler drives a real search and the NAS-Bench-201 table. A suggestion carries a token; the caller hands the
token back with the outcome, possibly out of order and after other asks (parallel workers).
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

from nas.atomic_files import write_text_atomic
from nas.errors import ConfigError
from nas.registry import Registry
from nas.run_status import Status
from nas.space.decisions import Decision, check_choices

SAVE_FORMAT = "nas-sampler/1"
MAX_SEED = 2**32 - 1  # numpy's and Optuna's generators take seeds in 0..2**32-1: the range every seed is checked to

# Every module of this package is imported the first time a sampler is looked up; a user's sampler module is
# imported through a search's `imports:` / `--import`.
def _set_name(name: str, cls: type["Sampler"]) -> None:
    cls.name = name  # what `save` writes and `load_sampler` looks up, however the class was registered


SAMPLERS: Registry[type["Sampler"]] = Registry("sampler", discover=("nas.samplers",), on_register=_set_name)


def register_sampler(name: str, *, replace: bool = False):
    """Class decorator: the sampler is found by `name` in searches, `nas bench` and saved sampler files
    (the same as `@SAMPLERS.register(name)`)."""
    return SAMPLERS.register(name, replace=replace)


@dataclass(frozen=True)
class SearchContext:
    """What a sampler may need to know of the search it runs in: where its state can live. Anything a particular
    sampler needs beyond that is one of its own options."""

    experiment: str  # the experiment's name
    folder: Path  # the experiment's folder


@dataclass(frozen=True)
class Suggestion:
    """What a sampler asks to evaluate: `choices[i]` indexes `decisions[i].choices`."""

    token: int
    choices: tuple[int, ...]


@dataclass(frozen=True)
class Outcome:
    """How a suggestion did.

    status: 'ok' | 'failed' (an error said nothing about the cell) | 'diverged' (training blew up: the cell is
    bad) | 'pruned' (stopped early; `reward` is its last, partial accuracy if known).
    reward: validation accuracy in [0, 1], higher is better; None when there is none.
    costs: e.g. {'params': 1.2e6, 'macs': 3e8}.
    curve: validation accuracy after each epoch trained, the first epoch first (empty when not recorded).
    note: why a 'failed' outcome says nothing about the cell (e.g. screened out by a zero-cost proxy, never
    trained); an Optuna study records it on the trial.
    """

    status: str
    reward: float | None = None
    costs: Mapping[str, float] = field(default_factory=dict)
    curve: tuple[float, ...] = ()
    note: str = ""

    def __post_init__(self):
        object.__setattr__(self, "status", Status.checked(self.status, "outcome status"))
        if self.status == Status.OK and self.reward is None:
            raise ValueError("an 'ok' outcome needs a reward")
        if self.reward is not None:
            object.__setattr__(self, "reward", float(self.reward))
        object.__setattr__(self, "curve", tuple(float(value) for value in self.curve))


class Sampler(ABC):
    """Base class: option checking, token bookkeeping, atomic save/restore.

    Subclasses declare `name` and `defaults` (every option they accept with its default value) and implement
    `_propose`, `_learn`, `_state` and `_load_state`. Those keeping their own trial store (Optuna) may override
    `ask`, `tell` and `pending` instead.
    """

    name: ClassVar[str]
    defaults: ClassVar[Mapping[str, Any]] = {}
    # Options that name where state lives (a database, a file) rather than how the sampler behaves: left out of
    # the dry build before the experiment folder exists, and checked by `check_places` instead of opened.
    place_options: ClassVar[tuple[str, ...]] = ()
    # Top-level config keys of older versions that are options of this sampler now: dotted old key -> option.
    moved_config_keys: ClassVar[Mapping[str, str]] = {}

    def __init__(self, decisions: Sequence[Decision], *, seed: int = 0, **options):
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            valid = ", ".join(sorted(self.defaults)) or "none"
            raise ConfigError(f"sampler {self.name!r} has no option {', '.join(map(repr, unknown))}; valid options: {valid}")
        self.decisions: tuple[Decision, ...] = tuple(decisions)
        if not self.decisions:
            raise ConfigError(f"sampler {self.name!r} needs at least one decision")
        self.seed = int(seed)
        self.options: dict[str, Any] = {**self.defaults, **options}
        self._pending: dict[int, Suggestion] = {}
        self._queued: list[tuple[int, ...]] = []  # given by start_with: the next asks return these first
        self._next_token = 0
        self._last_save: tuple[Path, str, tuple[int, int]] | None = None  # path, JSON, (mtime, size) as written

    # --- how a search sets a sampler up ------------------------------------------------------------------------

    @classmethod
    def check_for_search(cls, decisions: Sequence[Decision], options: Mapping[str, Any], *, seed: int) -> None:
        """Build once in memory, so a bad option fails before the experiment folder exists; the options that name
        places are only checked, since opening them would already write."""
        cls(decisions, seed=seed, **{key: value for key, value in options.items() if key not in cls.place_options})
        cls.check_places({key: options[key] for key in cls.place_options if key in options})

    @classmethod
    def check_places(cls, places: Mapping[str, Any]) -> None:
        """Refuse (ConfigError) a place option that could not be opened: a URL that does not parse, a file below
        a file. `places` holds those of `place_options` the user gave."""

    @classmethod
    def options_for_search(cls, options: dict, context: SearchContext, *, resume: bool) -> dict:
        """The options a search builds this sampler with: the user's, plus what the sampler derives from the
        search (e.g. a database beside the experiment). A fresh search may refuse here."""
        return dict(options)

    @classmethod
    def options_after_move(cls, options: Mapping[str, Any], context: SearchContext) -> dict:
        """Saved options that name places, re-derived when a search resumes (its folder may have moved);
        `options` are the user's, so places the user named stay as saved."""
        return {}

    # --- the interface ---------------------------------------------------------------------------------------

    def ask(self) -> Suggestion:
        token = self._next_token
        self._next_token += 1
        choices = self._queued.pop(0) if self._queued else self._propose()
        suggestion = Suggestion(token, check_choices(self.decisions, choices))
        self._pending[token] = suggestion
        return suggestion

    def start_with(self, candidates: Sequence[Sequence[int]]) -> None:
        """The next asks return `candidates`, in order, as this sampler's own suggestions (told and learnt from
        like any other): a warm start hands over the cells a zero-cost proxy ranked best as the sampler's first
        candidates, in place of the random ones it starts with (evolution's initial population, TPE's start-up
        trials, the controller's first batch)."""
        self._queued.extend(check_choices(self.decisions, choices) for choices in candidates)

    @property
    def start_up_size(self) -> int:
        """How many candidates this sampler draws before it learns from results: how many a warm start hands it."""
        return 10

    @property
    def queued(self) -> int:
        return len(self._queued)

    @property
    def asked(self) -> int:
        """How many suggestions this sampler has ever made (0: a fresh sampler, never asked)."""
        return self._next_token

    def tell(self, token: int, outcome: Outcome) -> None:
        suggestion = self._pending.pop(self._check_token(token))
        self._learn(suggestion, outcome)

    def report_epoch(self, token: int, epoch: int, val_acc: float) -> None:
        """A pending suggestion's validation accuracy after `epoch` (counted from 1), while it still trains. Most
        samplers learn from the outcome alone and ignore it; an Optuna study records it as an intermediate value,
        so its dashboard draws learning curves as they grow. `tell` gets the whole curve in any case."""

    def pending(self) -> list[Suggestion]:
        """Asked and not yet told, oldest first: after a resume these are the candidates to run again."""
        return [self._pending[token] for token in sorted(self._pending)]

    def state_dict(self) -> dict:
        return {**self._token_state(), **self._state()}

    def load_state_dict(self, state: dict) -> None:
        self._load_token_state(state)
        self._load_state(state)

    # --- files -----------------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the sampler (name, seed, options, decisions, state) as JSON, atomically.

        A sampler with bulky state (the controller's weights) writes it to files beside `path` first and names
        them in the JSON, so the JSON is the one switch from the old state to the new one."""
        path = Path(path)
        payload = {
            "format": SAVE_FORMAT,
            "sampler": self.name,
            "seed": self.seed,
            "options": self.options,
            "decisions": [[d.name, list(d.choices)] for d in self.decisions],
            "state": self._state_to_save(path),
        }
        text = json.dumps(payload)
        if self._saved_already(path, text):  # e.g. an Optuna sampler: its state is in its database
            return
        write_json_atomically(path, text)
        self._last_save = (path, text, _file_stamp(path))
        self._after_save(path)

    def _saved_already(self, path: Path, text: str) -> bool:
        """Whether this sampler last wrote exactly `text` to `path` and the file is still the one it wrote: then
        writing it again would only cost a disk sync (two per candidate in a search)."""
        if self._last_save is None or self._last_save[:2] != (path, text):
            return False
        return _file_stamp(path) == self._last_save[2]

    def restore(self, path: str | os.PathLike) -> None:
        """Load state saved by `save` into this sampler; the file must come from the same sampler and space."""
        payload = read_saved_sampler(path)
        if payload["sampler"] != self.name:
            raise ConfigError(f"{path}: saved by sampler {payload['sampler']!r}, not {self.name!r}")
        if payload["decisions"] != [[d.name, list(d.choices)] for d in self.decisions]:
            raise ConfigError(f"{path}: saved for a different search space (its decisions differ)")
        self.load_saved_state(payload["state"], Path(path))

    def load_saved_state(self, state: dict, path: Path) -> None:
        """Load the state `save` wrote to the file at `path` (files it names are beside it)."""
        self.load_state_dict(state)

    # --- for subclasses ----------------------------------------------------------------------------------------

    @abstractmethod
    def _propose(self) -> Sequence[int]:
        """A new decision vector."""

    @abstractmethod
    def _learn(self, suggestion: Suggestion, outcome: Outcome) -> None:
        """Take the outcome of an earlier suggestion into account."""

    def _state(self) -> dict:
        """Subclass state as JSON-able data."""
        return {}

    def _token_state(self) -> dict:
        return {"next_token": self._next_token, "pending": [[s.token, list(s.choices)] for s in self.pending()],
                "queued": [list(choices) for choices in self._queued]}

    def _load_token_state(self, state: dict) -> None:
        self._next_token = int(state["next_token"])
        self._pending = {int(token): Suggestion(int(token), tuple(choices)) for token, choices in state["pending"]}
        self._queued = [tuple(choices) for choices in state.get("queued", [])]  # absent in files before warm starts

    def _state_to_save(self, path: Path) -> dict:
        """The state as `save` writes it into the JSON at `path`; may first write bulky parts to files beside it."""
        return self.state_dict()

    def _after_save(self, path: Path) -> None:
        """Called once the JSON at `path` is in place: e.g. remove files beside it that it no longer names."""

    def _load_state(self, state: dict) -> None:
        pass

    def _check_token(self, token: int) -> int:
        if token not in self._pending:
            raise ValueError(f"sampler {self.name!r}: token {token} is not pending (asked and not yet told)")
        return token

    def _option(self, key: str, kind: type, *, low: float | None = None, high: float | None = None):
        """Read an option, converting and range-checking it so a bad config fails with one clear line."""
        value = self.options[key]
        try:
            value = kind(value) if value is not None else None
        except (TypeError, ValueError):
            raise ConfigError(f"sampler {self.name!r}: option {key}={value!r} is not a {kind.__name__}") from None
        if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
            bounds = f"{'' if low is None else low}..{'' if high is None else high}"
            raise ConfigError(f"sampler {self.name!r}: option {key}={value!r} is outside {bounds}")
        return value


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size


def write_json_atomically(path: Path, text: str) -> None:
    """Write JSON already serialised (the caller compares the text with its last save first)."""
    write_text_atomic(path, text)


def read_saved_sampler(path: str | os.PathLike) -> dict:
    try:
        with open(path) as file:
            payload = json.load(file)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no saved sampler there") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not a saved sampler ({error})") from None
    if not isinstance(payload, dict) or payload.get("format") != SAVE_FORMAT:
        raise ConfigError(f"{path}: not a saved sampler (format is not {SAVE_FORMAT})")
    return payload
