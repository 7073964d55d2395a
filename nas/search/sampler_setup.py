"""The sampler of a search: checked before anything is written, built fresh, or reloaded on resume.

What a sampler derives from the search (an Optuna database beside the experiment, the cost NSGA-II minimises)
is the sampler class's own business: see `Sampler.options_for_search` and `options_after_move`.
"""

from __future__ import annotations

from nas.atomic_files import check_writable_file
from nas.errors import ConfigError
from nas.samplers import Sampler, SearchContext, load_sampler, make_sampler, sampler_class
from nas.samplers.sqlite_storage import database_file
from nas.search.experiment_config import ExperimentConfig
from nas.search.experiment_folder import ExperimentPaths

# Options that name where state lives rather than how the sampler behaves: not needed for the dry build.
PLACE_OPTIONS = ("storage", "study_name")


def check_sampler(config: ExperimentConfig, space) -> None:
    """Build the sampler once in memory, so a bad name or option fails before the experiment folder exists; the
    database URLs it would open are read too (the study itself is opened only once the folder is made)."""
    options = {key: value for key, value in config.sampler_options.items() if key not in PLACE_OPTIONS}
    make_sampler(config.sampler, space.decisions, seed=config.seed, **options)
    check_database_url(config.optuna_storage, "optuna_storage")
    check_database_url(config.sampler_options.get("storage"), "sampler_options.storage")


def check_database_url(url, what: str) -> None:
    """A URL SQLAlchemy can read, of a database kind it knows; a SQLite file where it could be written."""
    if url is None:
        return
    import sqlalchemy

    try:
        parsed = sqlalchemy.engine.make_url(url)
        parsed.get_dialect()
    except sqlalchemy.exc.ArgumentError as error:
        raise ConfigError(f"{what} {url!r} is not a database URL ({error}); e.g. sqlite:///path/optuna.db or "
                          f"postgresql://user@host/db") from None
    file = database_file(url)
    if file is not None:
        check_writable_file(file, what)


def search_context(config: ExperimentConfig, paths: ExperimentPaths) -> SearchContext:
    return SearchContext(experiment=config.name, folder=paths.root, cost=config.objective.cost,
                         database_url=config.optuna_storage)


def build_sampler(config: ExperimentConfig, space, paths: ExperimentPaths, resume: bool) -> Sampler:
    context = search_context(config, paths)
    cls = sampler_class(config.sampler)
    if resume and paths.sampler.exists():
        return load_sampler(paths.sampler, **cls.options_after_move(context))
    options = cls.options_for_search(config.sampler_options, context, resume=resume)
    return make_sampler(config.sampler, space.decisions, seed=config.seed, **options)
