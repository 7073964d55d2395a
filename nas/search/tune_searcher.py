"""The seam between our samplers and Ray Tune: Tune asks for a trial config, we ask the sampler; a trial ends, we
record it and tell the sampler.

Tune calls these methods in the driver process, one at a time, so the store and the sampler have one writer.
Ordering on completion is: append the row, tell the sampler, save the sampler. A crash between any two steps is
repaired on resume by `reconcile_with_store` (a pending token whose row exists is told from the row; one without a
row is trained again).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ray.tune.search import Searcher

from nas.run_status import Status
from nas.samplers import Outcome, Sampler, Suggestion, load_sampler
from nas.samplers.proxy_guided import ProxyGuidedSampler
from nas.search.trial_report import TrialReport
from nas.search.trial_store import TrialRecord, TrialStore
from nas.space import SearchSpace

# A sampler that keeps proposing cells already evaluated is answered from the store; past this many answers in a
# row without a new cell, the space is taken as exhausted.
MAX_ANSWERED_IN_A_ROW = 1000


def outcome_of(record: TrialRecord) -> Outcome:
    costs = {key: float(value) for key, value in (("params", record.params), ("macs", record.macs)) if value}
    reward = record.val_acc if record.status in (Status.OK, Status.PRUNED) else None
    status = record.status if (record.status != Status.PRUNED or reward is not None) else Status.FAILED
    return Outcome(status=status, reward=reward, costs=costs, curve=tuple(record.val_acc_per_epoch or ()))


def reconcile_with_store(sampler: Sampler, store: TrialStore) -> list[Suggestion]:
    """After a restart: tell the sampler results it missed; return its pending suggestions that need training."""
    rows = {record.token: record for record in store.records}
    rerun = []
    for suggestion in sampler.pending():
        if suggestion.token in rows:
            sampler.tell(suggestion.token, outcome_of(rows[suggestion.token]))
        else:
            rerun.append(suggestion)
    return rerun


def _record_nowhere(record: TrialRecord) -> None:
    pass


class SamplerSearcher(Searcher):
    """Ray Tune pickles its search algorithm (with the whole Tuner, into tuner.pkl) at every Tuner it is given.
    Live objects need not pickle: Optuna's genetic samplers hold a threading.Lock, and a progress callback may hold
    a `print` that Ray has since replaced. So a copy leaves both out: `__getstate__` saves the sampler to its file,
    a copy rebuilds it from there (an Optuna sampler from its study's database) the first time it needs it, and a
    copy reports its records to no one.

    `guide` (a search with a zero-cost proxy: nas.search.proxy_guide) wraps the sampler, the given one and a
    copy's rebuilt one alike, in a ProxyGuidedSampler; each trained candidate's proxy values go into its row."""

    def __init__(self, *, sampler: Sampler, space: SearchSpace, store: TrialStore, sampler_path: Path,
                 budget: int, rerun: list[Suggestion], on_record: Callable[[TrialRecord], None] = _record_nowhere,
                 metric: str = "val_acc", mode: str = "max",
                 guide: Callable[[Sampler], ProxyGuidedSampler] | None = None):
        super().__init__(metric=metric, mode=mode)
        self.guide = guide
        self._sampler: Sampler | None = guide(sampler) if guide else sampler
        self.space = space
        self.store = store
        self.sampler_path = Path(sampler_path)
        self.budget = budget
        self.rerun = list(rerun)
        self.on_record = on_record
        self.suggested = 0
        self.answered_from_store = 0
        self.exhausted = False
        self._running: dict[str, tuple[Suggestion, object, str]] = {}
        self._running_hashes: set[str] = set()
        self._waiting: dict[str, list[int]] = defaultdict(list)  # hash -> tokens asked while it was training

    # --- Tune's interface ----------------------------------------------------------------------------------------
    def suggest(self, trial_id: str):
        if self.suggested >= self.budget:
            return Searcher.FINISHED
        known = self.store.by_hash()
        for _ in range(MAX_ANSWERED_IN_A_ROW):
            suggestion = self.rerun.pop(0) if self.rerun else self.sampler.ask()
            genotype = self.space.decode(suggestion.choices)
            cell_hash = self.space.canonical_key(genotype)
            if cell_hash in known:
                self.sampler.tell(suggestion.token, outcome_of(known[cell_hash]))
                self.answered_from_store += 1
                continue
            if cell_hash in self._running_hashes:
                self._waiting[cell_hash].append(suggestion.token)
                continue
            if self.guided is not None:  # a candidate to run again after a resume was not scored in this run
                self.guided.score([suggestion.choices])
            self._save_sampler()
            self._running[trial_id] = (suggestion, genotype, cell_hash)
            self._running_hashes.add(cell_hash)
            self.suggested += 1
            return {"genotype": str(genotype), "hash": cell_hash, "token": suggestion.token}
        self._save_sampler()
        if self._running:  # the proposals may be cells still training: ask again once one finishes
            return None
        self.exhausted = True
        return Searcher.FINISHED

    def on_trial_result(self, trial_id: str, result: dict):
        """An epoch's report: the sampler sees the learning curve as it grows (an Optuna study's dashboard)."""
        report = TrialReport.from_metrics(result)
        if trial_id in self._running and not report.final and report.epoch >= 1:
            self.sampler.report_epoch(self._running[trial_id][0].token, report.epoch, report.val_acc)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False):
        if trial_id not in self._running:
            return
        suggestion, genotype, cell_hash = self._running.pop(trial_id)
        self._running_hashes.discard(cell_hash)
        record = self._record(trial_id, suggestion, genotype, cell_hash, TrialReport.from_metrics(result or {}), error)
        self.store.append(record)
        outcome = outcome_of(record)
        self.sampler.tell(suggestion.token, outcome)
        for token in self._waiting.pop(cell_hash, []):
            self.sampler.tell(token, outcome)
        self._save_sampler()
        self.on_record(record)

    def save(self, checkpoint_path: str):
        # Tune's own experiment snapshots are not how we resume; the sampler file and the store are.
        self._save_sampler()

    def restore(self, checkpoint_path: str):
        pass

    # --- pickling: the sampler travels as its file ---------------------------------------------------------------
    @property
    def sampler(self) -> Sampler:
        if self._sampler is None:
            sampler = load_sampler(self.sampler_path)
            self._sampler = self.guide(sampler) if self.guide else sampler
        return self._sampler

    @property
    def guided(self) -> ProxyGuidedSampler | None:
        return self.sampler if self.guide else None

    def __getstate__(self) -> dict:
        if self._sampler is not None:
            self._save_sampler()
        return {**self.__dict__, "_sampler": None, "on_record": _record_nowhere}

    # --- helpers -------------------------------------------------------------------------------------------------
    @property
    def running(self) -> int:
        return len(self._running)

    def _save_sampler(self):
        self.sampler.save(self.sampler_path)

    def _record(self, trial_id, suggestion, genotype, cell_hash, report: TrialReport, error) -> TrialRecord:
        if error:
            status = Status.FAILED
            message = report.error or "the trial's worker died and Ray Tune's retries were used up"
        elif report.final:
            status, message = report.status, report.error
        else:  # ended by the scheduler (ASHA) before its last epoch
            status, message = Status.PRUNED, "stopped early by the scheduler"
        per_epoch = [round(float(value), 6) for value in report.val_acc_per_epoch]
        return TrialRecord(
            trial_id=trial_id,
            token=suggestion.token,
            sampler=self.sampler.name,
            genotype=str(genotype),
            hash=cell_hash,
            choices=list(suggestion.choices),
            status=status,
            val_acc=report.val_acc if status in (Status.OK, Status.PRUNED) else None,
            val_acc_per_epoch=per_epoch,
            top_class_share=report.top_class_share if status in (Status.OK, Status.PRUNED) else None,
            num_classes=report.num_classes,
            params=report.params,
            macs=report.macs,
            train_time_s=report.train_time_s,
            step_s=report.step_s,
            setup_s=report.setup_s,
            eval_s=report.eval_s,
            worker_s=report.worker_s,
            started_at=report.started_at or "",
            images_per_sec=report.images_per_sec,
            epochs=len(per_epoch),
            device=report.device,
            node=report.node,
            error=message,
            finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **self._proxy_columns(tuple(suggestion.choices)),
        )

    def _proxy_columns(self, choices: tuple[int, ...]) -> dict:
        guided = self.guided
        if guided is None:
            return {}
        score = guided.proxy_value(choices)
        return {"proxy": guided.guidance.proxy, "proxy_score": None if math.isnan(score) else score,
                "proxy_values": guided.scores.get(choices, {}),
                "proxy_reason": getattr(guided.scorer, "reasons", {}).get(choices, "")}

