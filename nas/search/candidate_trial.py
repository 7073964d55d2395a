"""What one Ray Tune trial of a search runs: train the searcher's candidate (nas.cluster.trial_training), report
each epoch to Tune, and a final report with the status and costs that becomes the candidate's row in the store.

A candidate whose network fails (cannot be built, a training step raises) is reported as `failed` with the
reason, because trying it again would fail the same way; only a worker that dies is retried by Tune.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import ray
from ray import tune

from nas.cluster.trial_training import NetworkToTrain, TrainedNetwork, TrialSettings, train_network
from nas.run_status import Status
from nas.search.search_timing import utc_timestamp
from nas.search.trial_report import TrialReport
from nas.train.result import EpochMetrics

# What a candidate's row says of a training run that did not end ok (the trainer's own message is for people
# reading a log; these are the table's).
ENDINGS = {
    Status.DIVERGED: "training loss became NaN or infinite",
    Status.PRUNED: "stopped at the per-trial time limit of {candidate.time_limit_s} s",  # the only on_epoch stop
}


@dataclass(frozen=True)
class CandidateSettings:
    """What every candidate of a search shares beyond the recipe and resources."""

    seed: int
    stack: str
    time_limit_s: float | None = None  # the trial stops there and is recorded as pruned

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def train_candidate(config: dict, splits=None) -> None:
    """Tune's trainable: `config` holds `settings` (TrialSettings), `candidate` (CandidateSettings), both as
    dicts, and the searcher's `genotype`."""
    settings, candidate = TrialSettings(**config["settings"]), CandidateSettings(**config["candidate"])
    started = time.monotonic()
    report = TrialReport(node=ray.util.get_node_ip_address(), started_at=utc_timestamp())

    def on_epoch(metrics: EpochMetrics) -> bool:
        report.val_acc_per_epoch.append(float(metrics.val_acc))
        report.val_acc, report.epoch = report.val_acc_per_epoch[-1], len(report.val_acc_per_epoch)
        report.top_class_share = metrics.val_top_class_share
        # the costs so far, so a trial the scheduler stops after this epoch still has them in its row
        report.step_s = round((report.step_s or 0.0) + metrics.train_seconds, 3)
        report.eval_s = round((report.eval_s or 0.0) + (metrics.eval_seconds or 0.0), 3)
        report.worker_s = round(time.monotonic() - started, 3)
        tune.report(report.to_metrics())
        return candidate.time_limit_s is not None and time.monotonic() - started > candidate.time_limit_s

    def on_built(trained: TrainedNetwork) -> None:
        report.device, report.params, report.macs, report.setup_s = (trained.device, trained.params, trained.macs,
                                                                     trained.setup_s)
        report.num_classes = trained.num_classes

    network = NetworkToTrain(seed=candidate.seed, genotype=config["genotype"], stack=candidate.stack)
    trained = train_network(network, settings, splits, on_built=on_built, on_epoch=on_epoch)
    report.device = trained.device
    result = trained.result
    if trained.error:
        report.status, report.error, report.val_acc = Status.FAILED, trained.error, 0.0
    else:
        report.val_acc = result.val_acc if result.val_acc is not None else 0.0
        report.train_time_s, report.images_per_sec = result.wall_time, result.images_per_sec
        report.step_s = round(sum(epoch.train_seconds for epoch in result.history), 3)
        report.eval_s = round(sum(epoch.eval_seconds or 0.0 for epoch in result.history), 3)
        report.status, report.error = result.status, ENDINGS.get(result.status, "").format(candidate=candidate)
    report.final = True
    report.worker_s = round(time.monotonic() - started, 3)
    tune.report(report.to_metrics())
