"""best.yaml and top/NN-<hash>.yaml: the best cells of a search as genotype files that `nas train`, `nas show`
and transfers read directly."""

from __future__ import annotations

from nas.search.experiment_folder import ExperimentPaths
from nas.search.trial_store import TrialRecord, TrialStore
from nas.space.genotype import Genotype
from nas.space.genotype_files import save_genotype


def export_best(store: TrialStore, paths: ExperimentPaths, top_k: int) -> list[TrialRecord]:
    best = store.best(top_k)
    wanted = set()
    for rank, record in enumerate(best, start=1):
        metadata = {"name": f"{paths.root.name}-{rank}", "source": f"search {paths.root.name}, trial {record.trial_id}",
                    "val_acc": record.val_acc, "params": record.params, "macs": record.macs}
        genotype = Genotype.parse(record.genotype)
        target = paths.top / f"{rank:02d}-{record.hash}.yaml"
        save_genotype(target, genotype, **metadata)
        wanted.add(target.name)
        if rank == 1:
            save_genotype(paths.best, genotype, **metadata)
    for stale in paths.top.glob("*.yaml"):  # ranks move when a resumed search finds better cells
        if stale.name not in wanted:
            stale.unlink()
    return best
