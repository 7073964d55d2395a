"""The table a search prints when it ends: counts by status and the best candidates."""

from __future__ import annotations

from nas.search.trial_store import TrialStore

GENOTYPE_WIDTH = 50  # a NASNet genotype is ~400 characters: it wrapped every row; trials.csv keeps the whole one


def summary_table(store: TrialStore, top: int = 5) -> str:
    frame = store.frame()
    if frame.empty:
        return "no trials finished"
    counts = frame["status"].value_counts()
    lines = ["trials: " + ", ".join(f"{counts[status]} {status}" for status in counts.index)]
    best = store.best(top)
    if best:
        lines.append(f"\n{'rank':>4}  {'val_acc':>7}  {'params':>9}  {'MMACs':>8}  {'time s':>7}  hash              genotype")
        for rank, record in enumerate(best, start=1):
            params = f"{record.params:,}" if record.params else "-"
            macs = f"{record.macs / 1e6:.1f}" if record.macs else "-"
            seconds = f"{record.train_time_s:.0f}" if record.train_time_s else "-"
            lines.append(f"{rank:>4}  {record.val_acc:>7.4f}  {params:>9}  {macs:>8}  {seconds:>7}  "
                         f"{record.hash}  {short_genotype(record.genotype)}")
    return "\n".join(lines)


def short_genotype(genotype: str, width: int = GENOTYPE_WIDTH) -> str:
    """The genotype's first blocks, as many whole ones as fit in `width` (at least one), then " ..."."""
    if len(genotype) <= width:
        return genotype
    blocks = genotype.split(") ")  # every block but the last loses its ")" here
    if len(blocks) == 1:  # not a NASNet genotype: cut anywhere
        return genotype[:width] + " ..."
    kept = 1
    while len(") ".join(blocks[:kept + 1])) + 1 <= width:  # the whole genotype is longer: this ends
        kept += 1
    return ") ".join(blocks[:kept]) + ") ..."


def best_cell_line(best_file, best: list) -> str:
    """Where the best cell went, or why there is none (a search whose every trial failed or diverged)."""
    if best:
        return f"best cell: {best_file}  (nas show {best_file}; nas train --genotype {best_file} ...)"
    return "best cell: none, no trial succeeded, so no best.yaml was written (trials.csv says why in its error column)"
