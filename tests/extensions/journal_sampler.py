"""A new sampler with options and a store of its own, from outside `nas/`: every ask and every tell is one line
of a JSON-lines journal, and building the sampler again replays it, so a resume reopens the journal rather than
sampler.json. It walks the space as the cyclic sampler does, `stride` choices a candidate.

Its `journal` option names a place: the search leaves it out of the dry build and asks `check_places`; left out,
it is journal.jsonl in the experiment folder, found again there when the folder has moved."""

from __future__ import annotations

import json
from pathlib import Path

from nas.atomic_files import check_writable_file
from nas.errors import ConfigError
from nas.samplers import Sampler, Suggestion, register_sampler

JOURNAL_FILE = "journal.jsonl"


@register_sampler("journal")
class JournalSampler(Sampler):
    defaults = {"journal": None, "stride": 1}
    place_options = ("journal",)

    def __init__(self, decisions, *, seed=0, **options):
        super().__init__(decisions, seed=seed, **options)
        self.stride = self._option("stride", int, low=1)
        self.told: dict[int, str] = {}  # token -> status
        self.path = Path(self.options["journal"]) if self.options["journal"] is not None else None
        self.replayed = 0  # lines read back when the sampler was built
        if self.path is not None and self.path.exists():
            for line in self.path.read_text().splitlines():
                self._replay(json.loads(line))
                self.replayed += 1

    @classmethod
    def check_places(cls, places):
        journal = places.get("journal")
        if journal is not None and not str(journal).endswith(".jsonl"):
            raise ConfigError(f"sampler 'journal': option journal={journal!r} must name a .jsonl file")
        if journal is not None:
            check_writable_file(journal, "sampler 'journal': option journal")

    @classmethod
    def options_for_search(cls, options, context, *, resume):
        options = {"journal": str(context.folder / JOURNAL_FILE), **options}
        if not resume and Path(options["journal"]).exists():
            raise ConfigError(f"sampler 'journal': {options['journal']} exists; pass --resume to continue it")
        return options

    @classmethod
    def options_after_move(cls, options, context):
        return {} if "journal" in options else {"journal": str(context.folder / JOURNAL_FILE)}

    def ask(self):
        suggestion = super().ask()
        self._write({"ask": suggestion.token, "choices": list(suggestion.choices)})
        return suggestion

    def tell(self, token, outcome):
        super().tell(token, outcome)
        self._write({"tell": token, "status": outcome.status})

    def state_dict(self):
        return {} if self.path is not None else super().state_dict()  # the journal holds everything

    def load_state_dict(self, state):
        if self.path is None:
            super().load_state_dict(state)

    def _propose(self):
        token = self._next_token - 1  # the base class numbered this ask already
        return [(token * self.stride) % decision.num_choices for decision in self.decisions]

    def _learn(self, suggestion, outcome):
        self.told[suggestion.token] = outcome.status

    def _replay(self, entry: dict) -> None:
        if "ask" in entry:
            self._pending[entry["ask"]] = Suggestion(entry["ask"], tuple(entry["choices"]))
            self._next_token = entry["ask"] + 1
        else:
            self.told[entry["tell"]] = entry["status"]
            self._pending.pop(entry["tell"])

    def _write(self, entry: dict) -> None:
        if self.path is not None:
            with open(self.path, "a") as journal:
                journal.write(json.dumps(entry) + "\n")
