"""What scoring with a zero-cost proxy cost a search, over all its runs: `<experiment>/proxy_scoring.json`, written
when a run of a search with `zero_cost:` ends (a resume adds to it) and read by reports. A search without a proxy,
or made before proxies, has no such file: its cost reads as not recorded."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

from nas.atomic_files import write_text_atomic
from nas.errors import ConfigError
from nas.plural import count_of
from nas.samplers.proxy_guided import ProxyGuidedSampler

PROXY_SCORING_FILE = "proxy_scoring.json"


@dataclass(frozen=True)
class ProxyScoringSummary:
    """What scoring cost a search, over all its runs (proxy_scoring.json)."""

    scored: int = 0  # cells scored (warm-start pools, screened candidates, trained ones)
    screened_out: int = 0  # drawn by the sampler and never trained: the proxy preferred another
    warm_started: int = 0  # handed to the sampler by the warm start
    unscorable: int = 0  # cells a proxy gave no value (NaN): ranked last
    scoring_s: float = 0.0  # wall time the driver waited for scores
    search_s: float = 0.0  # wall time of the search's runs, scoring included

    @classmethod
    def read(cls, folder) -> "ProxyScoringSummary | None":
        """None when the search recorded none (no proxy, or a search made before proxies)."""
        path = Path(folder) / PROXY_SCORING_FILE
        if not path.is_file():
            return None
        try:
            saved = json.loads(path.read_text())
            return cls(**{f.name: saved.get(f.name, f.default) for f in dataclasses.fields(cls)})
        except (ValueError, TypeError, AttributeError):
            raise ConfigError(f"{path} is not a proxy scoring summary the engine wrote (was it edited?)") from None

    def write(self, folder) -> None:
        write_text_atomic(Path(folder) / PROXY_SCORING_FILE, json.dumps(dataclasses.asdict(self), indent=1) + "\n")

    def plus_run(self, guided: ProxyGuidedSampler, search_s: float) -> "ProxyScoringSummary":
        counts = guided.counts
        unscorable = sum(any(math.isnan(value) for value in values.values()) for values in guided.scores.values())
        return ProxyScoringSummary(self.scored + counts.scored, self.screened_out + counts.screened_out,
                                   self.warm_started + counts.warm_started, self.unscorable + unscorable,
                                   round(self.scoring_s + counts.seconds, 3), round(self.search_s + search_s, 3))

    def line(self) -> str:
        share = f" ({self.scoring_s / self.search_s:.0%} of the search's wall time)" if self.search_s > 0 else ""
        parts = [f"scored {count_of(self.scored, 'cell')} in {self.scoring_s:.0f} s{share}",
                 f"{self.screened_out} screened out", f"{self.warm_started} warm-started"]
        if self.unscorable:
            parts.append(f"{self.unscorable} the proxy could not score (ranked last)")
        return "zero-cost proxy: " + ", ".join(parts)
