"""The driver of `nas transfer` and `nas compare` (`transfer`, `compare`): check what was asked before anything is
written, load the full training set and the test set, then train every job as a Ray Tune trial into the
campaign's folder (nas.cluster) and write its summary. A second run of the same campaign continues the first.

The CLI only parses flags into CampaignOptions and the command's own arguments, and calls one of the two.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from nas.atomic_files import check_writable_folder, write_text_atomic
from nas.cluster.driver_lock import DriverLock, holding_lock
from nas.cluster.gpu_share import resolve_gpu_share
from nas.cluster.ray_session import start_ray
from nas.cluster.resources import AUTO_GPUS, Resources
from nas.cluster.trial_training import NetworkToTrain
from nas.data import load_dataset, make_splits
from nas.data.data_facts import DataFacts
from nas.data.sources import AUTO
from nas.errors import ConfigError, DataError
from nas.evaluation.campaign_folder import CampaignPaths, CampaignSettings, comparison_folder, transfer_folder
from nas.evaluation.campaign_summary import write_summary
from nas.evaluation.job_runner import JobRunSettings, run_jobs
from nas.evaluation.cell_selection import finished_cells, jobs_for_cells, pareto_cells, top_cells
from nas.evaluation.cell_identity import named_cells, same_cell_lines
from nas.evaluation.jobs import JobTable, TrainingJob, comparison_jobs
from nas.models import default_stack
from nas.plural import count_of
from nas.registry import import_user_modules
from nas.samplers.base import MAX_SEED
from nas.train.recipe import load_recipe, saved_recipe
from nas.yaml_files import dump_yaml


@dataclass(frozen=True)
class CampaignOptions:
    """What a transfer and a comparison share: the data, the recipe, the seeds and the cluster."""

    data: str  # dataset folder
    dataset: str | None = None  # a registered dataset source; None: auto
    subset: int | None = None  # a class-balanced subset of the training set
    test_subset: int | None = None  # a class-balanced subset of the test set (None: all of it)
    cache_dir: str | None = None
    recipe: str = "full"  # proxy, full or a recipe YAML
    recipe_overrides: dict = field(default_factory=dict)  # epochs, batch_size, channels, cells (None: the recipe's)
    seeds: int = 1  # each network is trained with seeds 0..seeds-1
    resources: Resources = field(default_factory=lambda: Resources(workers=1))  # gpus_per_trial may be auto
    ray_address: str | None = None
    imports: tuple[str, ...] = ()

    def check(self) -> None:
        if self.seeds < 1 or self.resources.workers < 1:
            raise ConfigError("--seeds and --workers must be at least 1")
        if self.seeds - 1 > MAX_SEED:
            raise ConfigError(f"--seeds {self.seeds}: seeds run 0..S-1 and a seed must be at most 2**32 - 1")
        cpus, gpus = self.resources.cpus_per_trial, self.resources.gpus_per_trial
        for flag, value in (("--cpus-per-trial", cpus), ("--gpus-per-trial", gpus)):
            if flag == "--gpus-per-trial" and value == AUTO_GPUS:  # probed once Ray runs (run_campaign)
                continue
            if not 0 <= value < math.inf:  # NaN fails this too; Ray would meet it only once a trial is placed
                raise ConfigError(f"{flag} must be a number of at least 0, got {value}")
        _check_some_resources(self.resources)


def _check_some_resources(resources: Resources) -> None:
    if resources.cpus_per_trial == 0 and resources.gpus_per_trial == 0:
        raise ConfigError("a run needs some CPUs or GPUs (--cpus-per-trial and --gpus-per-trial are both 0)")


@dataclass(frozen=True)
class CampaignOutcome:
    paths: CampaignPaths
    failed: int  # runs without an `ok` row
    interrupted: bool = False  # Ctrl-C stopped it: what finished is kept, and the same command continues it


def transfer(experiment: Path, options: CampaignOptions, *, top: int, pareto: bool = False, stack: str | None = None,
             name: str | None = None, print_line: Callable[[str], None] = print) -> CampaignOutcome:
    """Retrain the top `top` cells of a search (or of its accuracy/params Pareto front) at full size into
    EXPERIMENT/transfer/NAME/ (NAME: `name`, or STACK-RECIPE with the stack used: `stack`, or the image size's)."""
    if top < 1:
        raise ConfigError("--top must be at least 1")
    finished = finished_cells(experiment)
    cells = pareto_cells(finished, top) if pareto else top_cells(finished, top)
    recipe = load_campaign_recipe(options)
    splits = load_final_splits(options, print_line)  # before the folder: without --stack its name needs the images
    stack_used = stack or default_stack(splits.image_size)
    jobs = jobs_for_cells(experiment.name, finished, cells, options.seeds, stack_used)
    name = name or f"{stack_used}-{recipe.name}"
    folder = transfer_folder(experiment, name)
    check_campaign_folder(folder, recipe)
    how = "the accuracy/params Pareto front" if pareto else "best validation accuracy"
    notes = [f"{len(cells)} cell(s) of search {experiment.name} by {how}, stack {stack_used}"
             + ("" if stack else " (by image size)")]
    return run_campaign(options, jobs, folder, recipe, splits, f"Transfer of {experiment.name} ({name})", notes,
                        print_line)


def compare(cells: list[str], baselines: list[str], options: CampaignOptions, *, name: str, results_dir,
            print_line: Callable[[str], None] = print) -> CampaignOutcome:
    """Train each cell (a published name or a genotype file) and each baseline under one recipe into
    RESULTS_DIR/compare/NAME/."""
    if not cells and not baselines:
        raise ConfigError("nothing to compare: name --cells and/or --baselines")
    recipe = load_campaign_recipe(options)
    named = named_cells(cells, tuple(baselines))  # once: the jobs and the same-cell lines both read it
    jobs = comparison_jobs(named, baselines, options.seeds)
    folder = comparison_folder(results_dir, name)
    check_campaign_folder(folder, recipe)
    splits = load_final_splits(options, print_line)
    notes = [f"cells: {', '.join(cells) or 'none'}; baselines: {', '.join(baselines) or 'none'}",
             *same_cell_lines(named)]
    for line in notes[1:]:
        print_line(f"note: {line}")
    return run_campaign(options, jobs, folder, recipe, splits, f"Comparison {name}", notes, print_line)


def load_campaign_recipe(options: CampaignOptions):
    """The recipe every job trains with, once the user's modules are imported and the options are checked."""
    import_user_modules(options.imports, where="--import")
    options.check()
    return load_recipe(options.recipe, options.recipe_overrides)


def check_campaign_folder(folder: Path, recipe) -> None:
    """Before the data is loaded: the folder must be writable, and a second run continues the first, so it must
    train with the same recipe, or the table would mix two."""
    check_writable_folder(folder, "result folder", files_too=True)
    DriverLock(folder, folder.name).check_free()  # a second driver on the folder: refused before any work
    paths = CampaignPaths(folder)
    if paths.campaign.is_file() and saved_recipe(CampaignSettings.read(paths).recipe) != recipe.to_dict():
        raise ConfigError(f"{folder} was started with another recipe; pass another --name to start afresh")


def check_same_data(paths: CampaignPaths, data_facts: DataFacts) -> None:
    """A second run continues the first, so it must train and test on the same images: another --subset,
    --test-subset or dataset would put rows of two data regimes into one table (and campaign.yaml would describe
    only the second)."""
    if not data_facts.recorded or not paths.campaign.is_file():
        return
    recorded = CampaignSettings.read(paths).data_facts
    if not recorded.recorded:  # a campaign made before the facts were recorded: nothing to compare with
        return
    changed = [f"{name} {getattr(recorded, name)} then, {getattr(data_facts, name)} now"
               for name in DataFacts.__dataclass_fields__ if getattr(recorded, name) != getattr(data_facts, name)]
    if changed:
        raise ConfigError(f"{paths.root} was started on other data ({'; '.join(changed)}); run it with the same "
                          f"data, or pass another --name to start afresh")


def load_final_splits(options: CampaignOptions, print_line: Callable[[str], None] = print):
    """The full training set and the test set (or a class-balanced subset of the training set)."""
    dataset = load_dataset(options.dataset or AUTO, options.data, cache_dir=options.cache_dir, progress=False)
    if dataset.test is None:
        raise DataError(f"{options.data} has no test split (a test/ or val/ folder): results are reported on it")
    splits = make_splits(dataset, purpose="final", val_size=0, subset=options.subset,
                         test_subset=options.test_subset, seed=0)
    print_line(f"data: {dataset.describe()}; {splits.describe()}")
    for line in dataset.note_lines():
        print_line(line)
    return splits


def run_campaign(options: CampaignOptions, jobs: list[TrainingJob], folder: Path, recipe, splits, title: str,
                 notes: list[str], print_line: Callable[[str], None] = print) -> CampaignOutcome:
    """Train the jobs not yet finished in `folder` and write its summary."""
    paths = CampaignPaths(folder)
    data_facts = DataFacts.of(splits, options.subset) if splits is not None else DataFacts()
    check_same_data(paths, data_facts)
    start_ray(options.ray_address, options.resources)  # before the folder is written: a wrong address writes nothing
    todo = JobTable(folder).unfinished(jobs) if options.resources.gpus_per_trial == AUTO_GPUS else []
    if todo:  # --gpus-per-trial auto: the share of a GPU the first job to train gets
        probe = NetworkToTrain(seed=todo[0].seed, genotype=todo[0].genotype, baseline=todo[0].baseline,
                               stack=todo[0].stack)
        options = dataclasses.replace(options, resources=resolve_gpu_share(options.resources, probe, recipe, splits,
                                                                           print_line))
        _check_some_resources(options.resources)  # auto on a cluster without GPUs, and --cpus-per-trial 0
    folder.mkdir(parents=True, exist_ok=True)
    with holding_lock(folder, folder.name):  # one driver per campaign folder, as per experiment
        started = CampaignSettings(title=title, recipe=recipe.to_dict(), jobs=tuple(job.to_dict() for job in jobs),
                                   data_facts=data_facts)
        write_text_atomic(paths.campaign, dump_yaml(started.to_dict(), sort_keys=False))
        settings = JobRunSettings(folder=folder, recipe=recipe.to_dict(), resources=options.resources,
                                  imports=options.imports)
        table, interrupted = run_jobs(jobs, splits, settings, print_line)
    notes = [*notes, f"recipe {recipe.name}: {count_of(recipe.epochs, 'epoch')}, batch {recipe.batch_size}, "
                     f"lr {recipe.lr}"]
    summary = write_summary(table, paths, title, notes, data_facts)
    failed = len(table) - int(summary["seeds"].sum()) if len(summary) else len(table)
    return CampaignOutcome(paths, failed, interrupted)
