"""A new sampler: walks the space in order, candidate k taking choice k mod n on every decision. Not clever, but
deterministic, so a test can check the search trained exactly the candidates it proposed."""

from __future__ import annotations

from nas.samplers import Sampler, register_sampler


@register_sampler("cyclic")
class CyclicSampler(Sampler):
    defaults = {"start": 0}

    def __init__(self, decisions, *, seed=0, **options):
        super().__init__(decisions, seed=seed, **options)
        self.position = self._option("start", int, low=0)

    def _propose(self):
        choices = [self.position % decision.num_choices for decision in self.decisions]
        self.position += 1
        return choices

    def _learn(self, suggestion, outcome):
        pass  # it learns nothing

    def _state(self):
        return {"position": self.position}

    def _load_state(self, state):
        self.position = int(state["position"])
