"""What one Ray Tune trial of a transfer or comparison runs: train the job's network on the full training set
(nas.cluster.trial_training), test it, keep its checkpoint and metrics in the job's folder, and report its row.

A job interrupted part-way (a killed driver, a lost node) continues from its checkpoint when the campaign is run
again. Errors of the network itself (it cannot be built, training raises) are reported as `failed` with the reason.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from ray import tune

from nas.atomic_files import write_text_atomic
from nas.cluster.trial_training import NetworkToTrain, TrialSettings, train_network
from nas.evaluation.jobs import JobRecord, TrainingJob
from nas.models import default_stack
from nas.run_status import Status


def train_job(config: dict, splits=None) -> None:
    """Tune's trainable: `config` holds `settings` (TrialSettings), `job` (a TrainingJob) and `folder` (the
    campaign's), the first two as dicts."""
    settings, job = TrialSettings(**config["settings"]), TrainingJob(**config["job"])
    folder = Path(config["folder"]) / job.job_id
    started = time.monotonic()
    network = NetworkToTrain(seed=job.seed, genotype=job.genotype, baseline=job.baseline, stack=job.stack)
    trained = train_network(network, settings, splits, eval_test=True, checkpoint_path=folder / "checkpoint.pt",
                            resume=True, on_epoch=lambda metrics: tune.report({"epoch": metrics.epoch}))
    record = JobRecord(job_id=job.job_id, name=job.name, kind=job.kind, seed=job.seed, status=Status.FAILED,
                       device=trained.device_name, recipe=settings.recipe["name"], stack=stack_used(job, splits),
                       model=job.genotype or job.baseline, source=job.source, hash=job.cell_hash,
                       params=trained.params, macs=trained.macs, error=trained.error)
    result = trained.result
    if result is not None:
        record.status = result.status  # ok or diverged: nothing stops a job early
        record.error = result.message
        record.test_acc, record.epochs = result.test_acc, result.epochs_completed
        record.test_images, record.top_class_share = result.test_images, result.test_top_class_share
        record.num_classes = result.num_classes
        record.train_time_s, record.images_per_sec = time.monotonic() - started, result.images_per_sec
        write_text_atomic(folder / "metrics.json", json.dumps({"job": job.to_dict(), **result.to_dict()}, indent=2))
    record.finished_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tune.report({"epoch": record.epochs or 0, "record": record.__dict__})


def stack_used(job: TrainingJob, splits) -> str:
    """How a cell network was stacked: the job's stack, or the one its image size picks (as the network was built,
    nas.train.network_for_data); empty for a baseline."""
    if job.kind != "cell":
        return ""
    return job.stack or default_stack(splits.image_size)
