"""Run an architecture search: sampler -> Ray Tune trials -> trial store, resumable after any crash.

Everything a user can get wrong is checked before the experiment folder is written to: the space, the sampler
and its options, the recipe, the stack, the data, the Ray connection and whether a trial's resources exist at all.
The folder's layout is in nas.search.experiment_folder.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from nas.cluster.driver_lock import DriverLock, holding_lock
from nas.background_call import BackgroundCall
from nas.cluster.ray_session import start_ray
from nas.cluster.resources import AUTO_GPUS
from nas.cluster.trial_training import NetworkToTrain
from nas.data import load_dataset, make_splits
from nas.data.data_facts import DataFacts
from nas.data.fork_pool import no_forks
from nas.data.sources import dataset_choices
from nas.errors import ConfigError
from nas.models.registry import get_model
from nas.plural import count_of
from nas.registry import import_user_modules
from nas.search.best_cells import export_best
from nas.search.experiment_config import ExperimentConfig
from nas.search.experiment_folder import ExperimentPaths, check_start_or_resume, write_experiment_file
from nas.search.progress import ProgressPrinter
from nas.search.proxy_guide import check_proxies, proxy_guide, record_scoring
from nas.search.sampler_setup import build_sampler, check_sampler
from nas.search.search_timing import SearchTiming
from nas.search.trial_store import TrialRecord, TrialStore
from nas.space import SearchSpace, load_space
from nas.space.op_registry import OPS
from nas.train.recipe import load_recipe


# What a local Ray's workers import as they start, while the driver still loads data and sets up the sampler.
TRIAL_MODULES = ("nas.search.trial_warmup",)


@dataclass
class SearchOutcome:
    paths: ExperimentPaths
    store: TrialStore
    best: list[TrialRecord]
    interrupted: bool = False  # Ctrl-C stopped it: what finished is kept, and --resume continues


def open_experiment(config: ExperimentConfig, resume: bool):
    """Check everything against the request before anything is written; return paths, space and recipe."""
    import_user_modules(config.imports)
    if config.data.dataset not in dataset_choices():  # after the imports: they may register dataset sources
        raise ConfigError(f"data.dataset must be one of {', '.join(dataset_choices())}, got {config.data.dataset!r}")
    space: SearchSpace = load_space(config.space)
    if not space.trainable:
        raise ConfigError(f"space {space.name} ({space.type}) is answered from a table, not trained: "
                          f"measure samplers on it with `nas bench`")
    space.check_ops(OPS.all_names())
    check_sampler(config, space)
    check_proxies(config)  # after the imports: they may register proxies
    recipe = load_recipe(config.recipe, config.recipe_overrides)
    get_model(config.model.stack, kind="stack")
    paths = check_start_or_resume(config, resume, space, recipe)
    DriverLock(paths.root, config.name).check_free()  # early, so a second driver is refused in seconds
    return paths, space, recipe


def load_search_data(config: ExperimentConfig, print_line=print):
    """The search split of the data: training images only (the test split is not even shipped to workers)."""
    data = config.data
    if not data.root:
        raise ConfigError("no data folder: pass --data DIR or set data.root in the config")
    dataset = load_dataset(data.dataset, data.root, cache_dir=data.cache_dir)
    splits = make_splits(dataset, purpose="search", val_size=data.val_size, subset=data.subset, seed=config.seed)
    decoded = dataset.decoded_now()
    cache = (f" ({count_of(decoded, 'image')} decoded)" if decoded
             else " (decoded cache used)" if dataset.from_cache else "")
    print_line(f"data: {dataset.describe()}{cache}; {splits.describe()}")
    for line in dataset.note_lines():
        print_line(line)
    return splits


def run_search(config: ExperimentConfig, *, resume: bool = False, print_line=print,
               command_started: float | None = None) -> SearchOutcome:
    """Run (or resume) the search the config describes; `command_started` (time.time()) is when the command that
    asked for it was entered (default: now), from which its timing record counts."""
    entered = time.time() if command_started is None else command_started
    timing = SearchTiming.since_command(entered, workers=config.resources.workers)  # the driver's start, by phase
    paths, space, recipe = open_experiment(config, resume)
    # The data loads on a thread while Ray starts on this one (Ray's servers are killed when the thread that started
    # them ends); in this process, not a forked pool, since a fork beside Ray cuts the driver from Ray's GCS. A data
    # error is raised once Ray is up, and nothing is written either way.
    with no_forks():
        loading = BackgroundCall(lambda: _loaded(load_search_data(config, print_line), timing), name="search-data")
        try:
            start_ray(config.ray_address, config.resources, preload=TRIAL_MODULES)
            timing.mark("ray_started")
        finally:
            splits = loading.result()
    if config.resources.gpus_per_trial == AUTO_GPUS:  # probe a candidate like the search's
        # Imported here, as Ray Tune below: imports before start_ray delay Ray's start and its workers' warm-up.
        from nas.cluster.gpu_share import resolve_gpu_share

        probe = NetworkToTrain(seed=config.seed, stack=config.model.stack,
                               genotype=str(space.decode(space.sample(random.Random(config.seed)))))
        config = config.replace(resources=resolve_gpu_share(config.resources, probe, recipe, splits, print_line))

    # Nothing above wrote into the experiment folder.
    paths.root.mkdir(parents=True, exist_ok=True)
    with holding_lock(paths.root, config.name, print_line):
        timing.keep_in(paths.root)
        store, interrupted = _run_locked(config, resume, paths, space, recipe, splits, print_line, timing)
        timing.mark("search_ended")
        return SearchOutcome(paths, store, export_best(store, paths, config.top_k), interrupted)


def _loaded(splits, timing: SearchTiming):
    timing.mark("data_loaded")
    return splits


def _run_locked(config: ExperimentConfig, resume: bool, paths: ExperimentPaths, space, recipe, splits,
                print_line, timing: SearchTiming) -> tuple[TrialStore, bool]:
    """The search proper, while this driver holds the experiment's lock; its store, and whether Ctrl-C stopped it."""
    # Ray Tune is imported once Ray has started (0.5 s): before start_ray it would delay Ray and its workers' warm-up.
    from nas.search.tune_run import run_trials
    from nas.search.tune_searcher import SamplerSearcher, reconcile_with_store

    started = time.monotonic()  # the time budget counts from here: a proxy's warm start is inside it
    asked_before = resume and paths.sampler.exists()
    sampler = build_sampler(config, space, paths, resume)
    if not resume:  # written last, so a start that failed can simply be run again
        write_experiment_file(paths, config, space, recipe, DataFacts.of(splits, config.data.subset))
    store = TrialStore(paths.root)
    rerun = reconcile_with_store(sampler, store)
    remaining = config.trials - len(store)
    print_line(f"experiment {config.name}: space {space.name} ({count_of(len(space.decisions), 'decision')}), "
               f"sampler {config.sampler}, {count_of(len(store), 'trial')} done, {max(remaining, 0)} to go"
               + (f", {count_of(len(rerun), 'interrupted trial')} to run again" if rerun else ""))
    interrupted = False
    if remaining > 0:
        guide = proxy_guide(config, space, recipe, splits, resumed=asked_before)
        searcher = SamplerSearcher(sampler=sampler, space=space, store=store, sampler_path=paths.sampler,
                                   budget=remaining, rerun=rerun, guide=guide)
        searcher.on_record = ProgressPrinter(config.trials, store, lambda: searcher.running, print_line)
        _warm_start(searcher, print_line)
        timing.mark("trials_started")
        interrupted = run_trials(config, recipe, paths, searcher, splits, remaining, started).interrupted
        _explain_ending(searcher, store, config, interrupted, print_line)
        if searcher.guided is not None:
            print_line(record_scoring(paths.root, searcher.guided, time.monotonic() - started).line())
    sampler.save(paths.sampler)
    return store, interrupted


def _warm_start(searcher: SamplerSearcher, print_line) -> None:
    """A proxy's warm start before the first trial (a resumed search had its own already): before Ray Tune's
    clock starts, so run_trials takes its time off the budget."""
    guided = searcher.guided
    if guided is None or not guided.guidance.warm_start_pool:
        return
    before = guided.counts.scored
    guided.warm_start_if_due()
    if guided.counts.scored > before:
        print_line(f"warm start: scored {count_of(guided.counts.scored - before, 'cell')} with "
                   f"{guided.guidance.proxy} in {guided.counts.seconds:.0f} s; the best "
                   f"{guided.counts.warm_started} train first")


def _explain_ending(searcher, store: TrialStore, config: ExperimentConfig, interrupted: bool, print_line) -> None:
    if searcher.answered_from_store:
        print_line(f"{count_of(searcher.answered_from_store, 'proposal')} of cells already trained, answered from "
                   f"their stored results")
    if searcher.exhausted:
        print_line("the sampler kept proposing cells already trained: the space looks exhausted")
    if len(store) < config.trials and not searcher.exhausted and not interrupted:  # the CLI explains Ctrl-C
        print_line(f"stopped after {len(store)} of {count_of(config.trials, 'trial')} (time budget); "
                   f"--resume continues")
