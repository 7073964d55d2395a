"""A search guided by a zero-cost proxy (the config's `zero_cost:` section): its sampler wrapped in
nas.samplers.proxy_guided.ProxyGuidedSampler, scoring on Ray (nas.cluster.proxy_scoring), and what scoring cost
added to the experiment's proxy_scoring.json (nas.search.proxy_scoring_summary)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nas.cluster.proxy_scoring import ProxyScoringSettings, RayProxyScorer
from nas.errors import ConfigError
from nas.samplers import Sampler
from nas.samplers.proxy_guided import ProxyGuidance, ProxyGuidedSampler
from nas.search.experiment_config import ExperimentConfig
from nas.search.proxy_scoring_summary import ProxyScoringSummary
from nas.zero_cost import check_proxy_names
from nas.zero_cost.batch import proxy_batch


def check_proxies(config: ExperimentConfig) -> None:
    """The proxies the config names exist (once the search's imports, which may register proxies, are loaded)."""
    if config.zero_cost is not None:
        try:
            check_proxy_names(config.zero_cost.proxies)
        except ConfigError as error:
            raise ConfigError(f"zero_cost: {error}") from None


@dataclass
class ProxyGuide:
    """Wraps a sampler for the search; plain data, so a searcher that Ray Tune pickled rebuilds the wrapper around
    the sampler it reloads. Only the first wrapper warm-starts, and none of a resumed search: a sampler's saved
    state does not always say whether it was asked before (an Optuna sampler's lives in its study)."""

    guidance: ProxyGuidance
    scorer: RayProxyScorer
    space: object
    seed: int
    warm_start_due: bool = True

    def __call__(self, sampler: Sampler) -> ProxyGuidedSampler:
        guidance = self.guidance
        if not self.warm_start_due:
            guidance = dataclasses.replace(guidance, warm_start_pool=0, warm_start_count=None)
        self.warm_start_due = False
        return ProxyGuidedSampler(sampler, guidance, self.scorer, sample=self.space.sample, seed=self.seed)


def proxy_guide(config: ExperimentConfig, space, recipe, splits, *, resumed: bool) -> ProxyGuide | None:
    """None for a search without `zero_cost:`; `resumed`: the sampler was asked before (no second warm start).
    The proxy batch (the first images of the training split) is made here once, a few hundred KB, and goes to
    every scoring task."""
    settings = config.zero_cost
    if settings is None:
        return None
    inputs, targets = proxy_batch(splits, settings.batch_size)
    scoring = ProxyScoringSettings(proxies=settings.proxies, recipe=recipe.to_dict(), stack=config.model.stack,
                                   seed=config.seed, num_classes=splits.num_classes, in_channels=splits.channels,
                                   image_size=splits.image_size, imports=config.imports,
                                   cpus=config.resources.cpus_per_trial, gpus=config.resources.gpus_per_trial)
    return ProxyGuide(settings.guidance, RayProxyScorer(space, scoring, inputs, targets), space, config.seed,
                      warm_start_due=not resumed)


def record_scoring(folder, guided: ProxyGuidedSampler, search_s: float) -> ProxyScoringSummary:
    """This run's scoring added to what earlier runs of the search recorded, written back."""
    summary = (ProxyScoringSummary.read(folder) or ProxyScoringSummary()).plus_run(guided, search_s)
    summary.write(folder)
    return summary
