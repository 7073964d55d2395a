"""The sampler of a search: checked before anything is written, built fresh, or reloaded on resume.

Which options a sampler has, which of them name places (a database, a file) and what it derives from the search
(an Optuna database beside the experiment) is the sampler class's own business: see `Sampler.check_for_search`,
`options_for_search` and `options_after_move`. Nothing here knows one sampler from another.
"""

from __future__ import annotations

from nas.samplers import Sampler, SearchContext, load_sampler, make_sampler, sampler_class
from nas.search.experiment_config import ExperimentConfig
from nas.search.experiment_folder import ExperimentPaths


def check_sampler(config: ExperimentConfig, space) -> None:
    """A bad sampler name or option fails before the experiment folder exists."""
    sampler_class(config.sampler).check_for_search(space.decisions, config.sampler_options, seed=config.seed)


def search_context(config: ExperimentConfig, paths: ExperimentPaths) -> SearchContext:
    return SearchContext(experiment=config.name, folder=paths.root)


def build_sampler(config: ExperimentConfig, space, paths: ExperimentPaths, resume: bool) -> Sampler:
    context = search_context(config, paths)
    cls = sampler_class(config.sampler)
    if resume and paths.sampler.exists():
        return load_sampler(paths.sampler, **cls.options_after_move(config.sampler_options, context))
    options = cls.options_for_search(config.sampler_options, context, resume=resume)
    return make_sampler(config.sampler, space.decisions, seed=config.seed, **options)
