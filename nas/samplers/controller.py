"""The RNN controller of Zoph & Le 2017 / Zoph et al. 2018 (NASNet), trained by REINFORCE or PPO.

An LSTM emits one softmax per decision, in the space's order. The first input is a learned start vector; each
sampled choice is fed back as the next input through that decision's own embedding table. Logits are divided by
`temperature` and squashed to `tanh_constant * tanh(.)` (ENAS) so the policy cannot collapse too early.

Children are sampled `batch_size` at a time from one policy version, and learning happens on batches of
`batch_size` results. Advantage = reward - b, with b an exponential moving average
of rewards (`baseline_decay`); an entropy bonus (`entropy_weight`) keeps exploring. `algorithm: ppo` optimizes
NASNet's clipped surrogate for `ppo_epochs` passes over the batch, against the log-probabilities recorded when each
child was asked (so asks made before an update stay correct importance samples).

Outcomes: 'failed' is skipped (an error says nothing about the cell); 'diverged' counts as reward 0 (or the
reward given), teaching the controller to avoid cells that blow up; 'pruned' counts with its partial reward, and
is skipped if it has none.
"""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nas.errors import ConfigError
from nas.run_status import Status
from nas.samplers.base import Outcome, Sampler, Suggestion, register_sampler
from nas.samplers.weights_files import WeightsFiles, load_weights, weights_file_name

ALGORITHMS = ("reinforce", "ppo")


class ControllerPolicy(nn.Module):
    """LSTM with a softmax head and an input embedding table per decision."""

    def __init__(self, num_choices: list[int], hidden_size: int):
        super().__init__()
        self.start = nn.Parameter(torch.zeros(1, hidden_size))
        self.cell = nn.LSTMCell(hidden_size, hidden_size)
        self.heads = nn.ModuleList(nn.Linear(hidden_size, n) for n in num_choices)
        self.embeddings = nn.ModuleList(nn.Embedding(n, hidden_size) for n in num_choices)
        for parameter in self.parameters():  # ENAS's init: small weights give a near-uniform first policy
            nn.init.uniform_(parameter, -0.1, 0.1)

    def forward(
        self,
        choices: torch.Tensor | None,
        *,
        temperature: float,
        tanh_constant: float | None,
        generator: torch.Generator | None = None,
        batch: int = 1,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample (choices None) or score given choices [B, D]. Returns choices, log-prob [B] and entropy [B]."""
        if choices is not None:
            batch = choices.shape[0]
        inputs = self.start.expand(batch, -1)
        state = None
        picked, log_prob, entropy = [], 0.0, 0.0
        for step, (head, embedding) in enumerate(zip(self.heads, self.embeddings)):
            hidden, cell = self.cell(inputs, state)
            state = (hidden, cell)
            logits = head(hidden) / temperature
            if tanh_constant is not None:
                logits = tanh_constant * torch.tanh(logits)
            log_probs = torch.log_softmax(logits, dim=-1)
            if choices is None:
                choice = torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(1)
            else:
                choice = choices[:, step]
            picked.append(choice)
            log_prob = log_prob + log_probs.gather(1, choice[:, None]).squeeze(1)
            entropy = entropy - (log_probs.exp() * log_probs).sum(dim=-1)
            inputs = embedding(choice)
        return torch.stack(picked, dim=1), log_prob, entropy


@contextlib.contextmanager
def one_torch_thread():
    """Run the controller's tiny LSTM on one thread: its ops are too small to share, and on a busy machine a
    second intra-op thread waiting for a core made a learning update 5x slower (BENCHMARKS.md, search overhead).
    The setting is per process, so it is put back afterwards for whatever else the process runs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@register_sampler("controller")
class ControllerSampler(Sampler):
    # Defaults tuned on NAS-Bench-201 at 100 cells (lr 0.002..0.02, batch 1..5, entropy 1e-3..1e-2, 40-100 runs
    # each): PPO, as NASNet used, beat REINFORCE there. NASNet's lr 3.5e-4 and batch 20 suit searches of thousands
    # of children across hundreds of workers; with a few hundred children the controller must learn faster.
    defaults = {
        "algorithm": "ppo",
        "hidden_size": 100,
        "learning_rate": 0.003,
        "batch_size": 3,
        "temperature": 1.0,
        "tanh_constant": 2.5,
        "entropy_weight": 3e-3,
        "baseline_decay": 0.9,
        "ppo_clip": 0.2,
        "ppo_epochs": 4,
        "grad_clip": 5.0,
    }

    def __init__(self, decisions, *, seed: int = 0, **options):
        super().__init__(decisions, seed=seed, **options)
        self.algorithm = self.options["algorithm"]
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(f"sampler 'controller': option algorithm={self.algorithm!r} is not one of {', '.join(ALGORITHMS)}")
        self.batch_size = self._option("batch_size", int, low=1)
        self.temperature = self._option("temperature", float, low=1e-6)
        self.tanh_constant = self._option("tanh_constant", float, low=1e-6)
        self.entropy_weight = self._option("entropy_weight", float, low=0.0)
        self.baseline_decay = self._option("baseline_decay", float, low=0.0, high=1.0)
        self.ppo_clip = self._option("ppo_clip", float, low=0.0)
        self.ppo_epochs = self._option("ppo_epochs", int, low=1)
        self.grad_clip = self._option("grad_clip", float, low=0.0)
        with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
            torch.manual_seed(self.seed)
            self.policy = ControllerPolicy(
                [d.num_choices for d in self.decisions], self._option("hidden_size", int, low=1)
            )
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self._option("learning_rate", float, low=0.0))
        self.generator = torch.Generator().manual_seed(self.seed)
        self.baseline: float | None = None
        self._ask_log_probs: dict[int, float] = {}  # token -> log-prob when asked (PPO's old policy)
        self._batch: list[tuple[tuple[int, ...], float, float]] = []  # (choices, reward, old log-prob)
        self._sampled: list[tuple[list[int], float]] = []  # sampled by the current policy, not yet asked
        self.updates = 0
        self._weights_files = WeightsFiles()

    @property
    def start_up_size(self) -> int:
        return self.batch_size

    def ask(self) -> Suggestion:
        if self._queued:  # a warm start's candidate: learnt from with its probability under the current policy
            with torch.no_grad(), one_torch_thread():
                _, log_probs, _ = self.policy(torch.tensor([self._queued[0]], dtype=torch.long),
                                              temperature=self.temperature, tanh_constant=self.tanh_constant)
            suggestion = super().ask()  # takes the queued choices
            self._ask_log_probs[suggestion.token] = float(log_probs[0])
            return suggestion
        if not self._sampled:
            # As in NASNet, one policy version samples a whole batch of children; an update discards the rest.
            with torch.no_grad(), one_torch_thread():
                choices, log_probs, _ = self.policy(
                    None, temperature=self.temperature, tanh_constant=self.tanh_constant,
                    generator=self.generator, batch=self.batch_size,
                )
            self._sampled = list(zip(choices.tolist(), log_probs.tolist()))
        self._next_choices, log_prob = self._sampled.pop(0)
        suggestion = super().ask()
        self._ask_log_probs[suggestion.token] = log_prob
        return suggestion

    def _propose(self):
        return self._next_choices

    def _learn(self, suggestion: Suggestion, outcome: Outcome) -> None:
        old_log_prob = self._ask_log_probs.pop(suggestion.token)
        if outcome.status == Status.FAILED or (outcome.status == Status.PRUNED and outcome.reward is None):
            return
        reward = outcome.reward if outcome.reward is not None else 0.0
        self._batch.append((suggestion.choices, float(reward), old_log_prob))
        if len(self._batch) >= self.batch_size:
            with one_torch_thread():
                self._update()

    def _update(self) -> None:
        choices = torch.tensor([c for c, _, _ in self._batch], dtype=torch.long)
        rewards = [r for _, r, _ in self._batch]
        old_log_probs = torch.tensor([lp for _, _, lp in self._batch])
        advantages = []
        for reward in rewards:  # moving-average baseline, updated child by child as in NASNet
            self.baseline = reward if self.baseline is None else self.baseline
            advantages.append(reward - self.baseline)
            self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward
        advantages = torch.tensor(advantages)
        for _ in range(self.ppo_epochs if self.algorithm == "ppo" else 1):
            _, log_probs, entropy = self.policy(choices, temperature=self.temperature, tanh_constant=self.tanh_constant)
            if self.algorithm == "ppo":
                ratio = torch.exp(log_probs - old_log_probs)
                clipped = ratio.clamp(1 - self.ppo_clip, 1 + self.ppo_clip)
                objective = torch.minimum(ratio * advantages, clipped * advantages)
            else:
                objective = log_probs * advantages
            loss = -(objective.mean() + self.entropy_weight * entropy.mean())
            self.optimizer.zero_grad()
            loss.backward()
            if self.grad_clip > 0:
                nn.utils.clip_grad_norm_(self.policy.parameters(), self.grad_clip)
            self.optimizer.step()
        self._batch.clear()
        self._sampled.clear()
        self.updates += 1

    def probabilities(self) -> list[list[float]]:
        """Greedy-path softmax per decision, for reports: how sure the controller has become."""
        with torch.no_grad():
            inputs, state, rows = self.policy.start, None, []
            for head, embedding in zip(self.policy.heads, self.policy.embeddings):
                state = self.policy.cell(inputs, state)
                logits = head(state[0]) / self.temperature
                if self.tanh_constant is not None:
                    logits = self.tanh_constant * torch.tanh(logits)
                probs = torch.softmax(logits, dim=-1)[0]
                rows.append(probs.tolist())
                inputs = embedding(probs.argmax()[None])
        return rows

    def _state(self) -> dict:
        return {**self._bookkeeping(), "policy": _to_plain(self.policy.state_dict()),
                "optimizer": _to_plain(self.optimizer.state_dict())}

    def _load_state(self, state: dict) -> None:
        self.policy.load_state_dict(_from_plain(state["policy"]))
        self.optimizer.load_state_dict(_from_plain(state["optimizer"]))
        self._load_bookkeeping(state)

    # --- files: small JSON every ask and tell, weights in a binary file written only after an update ------------

    def _state_to_save(self, path: Path) -> dict:
        weights_file = self._weights_files.save(path, self.updates, self._weights)
        return {**self._token_state(), **self._bookkeeping(), "weights_file": weights_file}

    def _after_save(self, path: Path) -> None:
        self._weights_files.remove_unnamed(path, weights_file_name(path, self.updates))

    def load_saved_state(self, state: dict, path: Path) -> None:
        if "weights_file" not in state:  # a save from before weights files: everything inline, as plain lists
            self.load_state_dict(state)
            return
        weights = load_weights(path, state["weights_file"])
        self.policy.load_state_dict(weights["policy"])
        self.optimizer.load_state_dict(weights["optimizer"])
        self._load_token_state(state)
        self._load_bookkeeping(state)
        self._weights_files.loaded(path, self.updates)

    def _weights(self) -> dict:
        return {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict()}

    def _bookkeeping(self) -> dict:
        """What changes on every ask and tell: small, so it is rewritten each time."""
        return {
            "generator": _bytes_to_text(self.generator.get_state()),
            "baseline": self.baseline,
            "ask_log_probs": [[token, value] for token, value in self._ask_log_probs.items()],
            "batch": [[list(c), r, lp] for c, r, lp in self._batch],
            "sampled": [[c, lp] for c, lp in self._sampled],
            "updates": self.updates,
        }

    def _load_bookkeeping(self, state: dict) -> None:
        generator = state["generator"]
        self.generator.set_state(_text_to_bytes(generator) if isinstance(generator, str) else _from_plain(generator))
        self.baseline = state["baseline"]
        self._ask_log_probs = {int(token): float(value) for token, value in state["ask_log_probs"]}
        self._batch = [(tuple(c), float(r), float(lp)) for c, r, lp in state["batch"]]
        self._sampled = [([int(x) for x in c], float(lp)) for c, lp in state["sampled"]]
        self.updates = int(state["updates"])


# The generator's state is 5 kB of bytes: base64 in the JSON (a third of the size of a list of numbers).
def _bytes_to_text(state: torch.Tensor) -> str:
    return base64.b64encode(state.numpy().tobytes()).decode("ascii")


def _text_to_bytes(text: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8)


# In-memory state dicts, and saves from before weights files, are JSON; these turn tensors and int-keyed dicts
# (optimizer state) into plain data and back, exactly: float32 values survive the trip through JSON's float64.
def _to_plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return {"__tensor__": value.tolist(), "dtype": str(value.dtype).removeprefix("torch."), "shape": list(value.shape)}
    if isinstance(value, dict):
        return {"__items__": [[_to_plain(k), _to_plain(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_to_plain(item) for item in value]
    return value


def _from_plain(value: Any) -> Any:
    if isinstance(value, dict) and "__tensor__" in value:
        return torch.tensor(value["__tensor__"], dtype=getattr(torch, value["dtype"])).reshape(value["shape"])
    if isinstance(value, dict) and "__items__" in value:
        return {_from_plain(k): _from_plain(v) for k, v in value["__items__"]}
    if isinstance(value, list):
        return [_from_plain(item) for item in value]
    return value
