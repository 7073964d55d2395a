"""What one Ray Tune trial of a transfer or comparison runs: build the job's network, train it on the full
training set with the recipe, test it, keep its checkpoint and metrics in the job's folder.

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
from nas.errors import failure_line
from nas.evaluation.jobs import JobRecord, TrainingJob
from nas.registry import import_user_modules


def train_job(config: dict, splits=None) -> None:
    """Tune's trainable: `config` holds `job` (a TrainingJob as a dict) and `settings` (recipe, folder, ...)."""
    from nas.models.profile import count_params_and_macs
    from nas.train.device_choice import claim_trial_device, describe_device
    from nas.train.network_for_data import network_for_data
    from nas.train.recipe import Recipe
    from nas.train.trainer import train

    job, settings = TrainingJob(**config["job"]), config["settings"]
    device = claim_trial_device(settings["cpus"], settings["gpus"])
    folder = Path(settings["folder"]) / job.job_id
    record = JobRecord(job_id=job.job_id, name=job.name, kind=job.kind, seed=job.seed, status="failed",
                       device=describe_device(device), recipe=settings["recipe"]["name"], stack=job.stack or "",
                       model=job.genotype or job.baseline, source=job.source)
    started = time.monotonic()
    try:
        import_user_modules(settings["imports"])
        recipe = Recipe(**settings["recipe"])
        model = network_for_data(recipe=recipe, genotype=job.genotype, baseline=job.baseline, stack=job.stack,
                                 num_classes=splits.num_classes, in_channels=splits.channels,
                                 image_size=splits.image_size, seed=job.seed)
        costs = count_params_and_macs(model, (1, splits.channels, splits.image_size, splits.image_size))
        record.params, record.macs = costs["params"], costs["macs"]
        result = train(model, splits, recipe, device=device, seed=job.seed, eval_test=True, progress=False,
                       checkpoint_path=folder / "checkpoint.pt", resume=True,
                       on_epoch=lambda metrics: tune.report({"epoch": metrics["epoch"]}))
        record.status = "ok" if result.status == "ok" else "diverged"
        record.error = result.message
        record.test_acc, record.epochs = result.test_acc, result.epochs_completed
        record.train_time_s, record.images_per_sec = time.monotonic() - started, result.images_per_sec
        write_text_atomic(folder / "metrics.json", json.dumps({"job": job.to_dict(), **result.to_dict()}, indent=2))
    except Exception as error:  # noqa: BLE001 - the network's failure is a row in the table, not a crash
        record.error = failure_line(error)
    record.finished_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tune.report({"epoch": record.epochs or 0, "record": record.__dict__})
