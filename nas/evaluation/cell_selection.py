"""Which cells of a finished search to train further: the top K by validation accuracy, or the accuracy/params
Pareto front."""

from __future__ import annotations

from pathlib import Path

from nas.errors import ConfigError
from nas.evaluation.jobs import TrainingJob
from nas.search.experiment_folder import ExperimentPaths
from nas.search.trial_store import TrialRecord, TrialStore


def finished_cells(experiment: Path) -> list[TrialRecord]:
    """The experiment's `ok` trials, best first; ConfigError when there is no such experiment or none finished."""
    ExperimentPaths(experiment).require_experiment()
    finished = TrialStore(experiment).best(count=10**9)
    if not finished:
        raise ConfigError(f"experiment {experiment.name!r} has no finished trial to transfer")
    return finished


def top_cells(finished: list[TrialRecord], count: int) -> list[TrialRecord]:
    if count > len(finished):
        raise ConfigError(f"--top {count} asks for more cells than the {len(finished)} finished trials of the search")
    return finished[:count]


def pareto_cells(finished: list[TrialRecord], count: int) -> list[TrialRecord]:
    """Cells no other cell beats on both validation accuracy (higher) and parameters (fewer), best first; the
    `count` most accurate of them."""
    front = [cell for cell in finished
             if not any(other.val_acc >= cell.val_acc and other.params <= cell.params
                        and (other.val_acc, other.params) != (cell.val_acc, cell.params) for other in finished)]
    return front[:count]


def jobs_for_cells(experiment: str, finished: list[TrialRecord], cells: list[TrialRecord], seeds: int,
                   stack: str | None) -> list[TrainingJob]:
    """Each chosen cell once per seed, named EXPERIMENT-RANK by its rank among all `finished` cells (best first):
    the name the search gave the same cell in best.yaml and top/NN-<hash>.yaml, whichever way it was chosen."""
    jobs = []
    ranks = {id(cell): rank for rank, cell in enumerate(finished, start=1)}
    for cell in cells:
        rank = ranks[id(cell)]
        source = f"search {experiment}, rank {rank}, val acc {cell.val_acc:.4f}, {cell.hash}"
        jobs += [TrainingJob(name=f"{experiment}-{rank}", seed=seed, genotype=cell.genotype, stack=stack,
                             source=source) for seed in range(seeds)]
    return jobs
