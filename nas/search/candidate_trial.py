"""What one Ray Tune trial runs: build the candidate's network, train it with the proxy recipe, report each epoch.

Runs inside a Ray worker process. Errors that come from the candidate (a network that cannot be built, a
training step that raises) are caught and reported as a `failed` result with the reason, because trying the same
candidate again would fail the same way; only a worker that dies is retried by Tune.
"""

from __future__ import annotations

import time

from ray import tune


def train_candidate(config: dict, splits=None) -> None:
    # Imported here so the driver does not pay for torch model code it never runs.
    import torch

    from nas.models.profile import count_params_and_macs
    from nas.search.runner import import_user_modules
    from nas.space.genotype import Genotype
    from nas.train.network_for_data import network_for_data
    from nas.train.recipe import Recipe
    from nas.train.trainer import train

    started = time.monotonic()
    time_limit = config.get("time_limit_s")
    device = "cuda" if config.get("gpus", 0) > 0 and torch.cuda.is_available() else "cpu"
    torch.set_num_threads(max(1, int(config.get("cpus", 1))))
    per_epoch: list[float] = []
    costs: dict = {}

    def on_epoch(metrics: dict) -> bool:
        per_epoch.append(float(metrics["val_acc"]))
        tune.report({"val_acc": per_epoch[-1], "epoch": len(per_epoch), "val_acc_per_epoch": list(per_epoch),
                     "device": device, **costs})
        out_of_time = time_limit is not None and time.monotonic() - started > time_limit
        return out_of_time

    # Tune insists on the metric in every report; a failed trial's 0.0 is never stored as its accuracy.
    final = {"final": True, "device": device, "val_acc": 0.0}
    try:
        import_user_modules(config["imports"])
        recipe = Recipe(**config["recipe"])
        model_options = config["model"]
        model = network_for_data(recipe=recipe, genotype=Genotype.parse(config["genotype"]),
                                 stack=model_options["stack"], channels=model_options["channels"],
                                 cells=model_options["cells"], num_classes=splits.num_classes,
                                 in_channels=splits.channels, image_size=splits.image_size, seed=config["seed"])
        costs = count_params_and_macs(model, (1, splits.channels, splits.image_size, splits.image_size))
        result = train(model, splits, recipe, device=device, seed=config["seed"], on_epoch=on_epoch, progress=False)
        final.update(costs, val_acc=result.val_acc if result.val_acc is not None else 0.0, val_acc_per_epoch=per_epoch, train_time_s=result.wall_time,
                     images_per_sec=result.images_per_sec)
        if result.status == "ok":
            final.update(status="ok")
        elif result.status == "diverged":
            final.update(status="diverged", error="training loss became NaN or infinite")
        else:  # stopped by on_epoch: the per-trial time limit
            final.update(status="pruned", error=f"stopped at the per-trial time limit of {time_limit} s")
    except Exception as error:  # noqa: BLE001 - the candidate's failure is data for the search, not a crash
        message = str(error).splitlines()[0] if str(error) else ""
        final.update(costs, status="failed", error=f"{type(error).__name__}: {message}"[:500],
                     val_acc_per_epoch=per_epoch)
    tune.report(final)
