"""One trainer for search candidates, full runs, transfers and baselines, driven by a Recipe."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from tqdm import tqdm

from nas.data.loaders import make_loader
from nas.data.splits import Splits
from nas.errors import ConfigError, DataError
from nas.models.trainable import set_drop_path, training_forward
from nas.train.checkpoint import load_checkpoint, save_checkpoint
from nas.train.device_choice import resolve_device
from nas.train.fine_tune import freeze_stages, parameter_groups
from nas.train.recipe import Recipe
from nas.train.result import TrainResult
from nas.train.schedule import warmup_cosine
from nas.train.step_setup import choose_step_format, make_optimizer, make_stepper, use_cuda_graph

log = logging.getLogger("nas.train")

CHECKPOINT_FORMAT = 1
SYNC_EVERY = 10  # steps between reading the loss back from the device (progress bar, NaN check)

EpochCallback = Callable[[dict], "bool | None"]


def train(model: nn.Module, splits: Splits, recipe: Recipe, *, device: str | torch.device = "cpu", seed: int = 0,
          on_epoch: EpochCallback | None = None, checkpoint_path: str | Path | None = None, eval_test: bool = False,
          progress: bool = True, resume: bool = True) -> TrainResult:
    """Train `model` on splits.train, validate on splits.val after each epoch, optionally test at the end.

    on_epoch(metrics) is called after every epoch with that epoch's metrics; returning True stops the run
    ('stopped'). A checkpoint is written after every epoch when checkpoint_path is given, and with resume=True an
    existing one is continued from (same seed and recipe give the same weights as an uninterrupted run).
    """
    started = time.perf_counter()
    device = resolve_device(device)
    if eval_test and splits.test is None:
        if splits.purpose == "search":
            raise ConfigError("eval_test asked on a search split: the test images are kept from searches; "
                              "use make_splits(purpose='final')")
        raise DataError("the dataset has no test split (no test/ or val/ folder), so eval_test cannot run")
    graph = use_cuda_graph(recipe, device)
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    # The recipe's bf16/channels_last, or on a CUDA graph the fastest of them by a short probe (format_probe.py)
    step_format = choose_step_format(
        model, recipe, graph=graph, device=device, num_classes=splits.num_classes,
        batch_shape=(min(recipe.batch_size, len(splits.train)), splits.channels, splits.image_size, splits.image_size),
        loss_for=lambda network: loss_function(training_forward(network), criterion, recipe.auxiliary_weight))
    memory_format = step_format.memory_format
    model.to(device=device, memory_format=memory_format)
    use_bf16 = step_format.bf16
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_bf16 else contextlib.nullcontext

    train_loader = make_loader(splits.train, splits, train=True, batch_size=recipe.batch_size, device=device,
                               crop_padding=recipe.crop_padding, flip=recipe.flip, cutout=recipe.cutout, seed=seed)

    def eval_loader(images):
        return make_loader(images, splits, train=False, batch_size=recipe.eval_batch_size, device=device)

    val_loader = eval_loader(splits.val) if splits.val is not None and len(splits.val) else None

    frozen = freeze_stages(model, recipe.freeze_stages, (splits.channels, splits.image_size, splits.image_size))
    optimizer = make_optimizer(parameter_groups(model, recipe.lr, recipe.lr_backbone), recipe, graph=graph)
    steps_per_epoch = len(train_loader)
    scheduler = warmup_cosine(optimizer, total_steps=recipe.epochs * steps_per_epoch,
                              warmup_steps=round(recipe.warmup_epochs * steps_per_epoch), lr=recipe.lr,
                              lr_min=recipe.lr_min)

    history: list[dict] = []
    start_epoch = 0
    if checkpoint_path is not None and resume and Path(checkpoint_path).exists():
        start_epoch, history, status = _restore(checkpoint_path, model, optimizer, scheduler, recipe, seed)
        if status == "diverged":
            return _result("diverged", history, started, "resumed a run that had diverged")
        log.info("resuming %s from epoch %d", checkpoint_path, start_epoch)

    forward_train, forward_eval = training_forward(model), model
    if recipe.compile:
        forward_train, forward_eval = torch.compile(forward_train), torch.compile(model)
    stepper = make_stepper(model, optimizer, loss_function(forward_train, criterion, recipe.auxiliary_weight), recipe,
                           step_format, graph=graph, device=device)
    status, message = "ok", ""
    for epoch in range(start_epoch, recipe.epochs):
        # Seed per epoch, so dropout/drop-path draws after a resume match an uninterrupted run.
        torch.manual_seed(seed * 100_003 + epoch)
        drop_path = set_drop_path(model, recipe.drop_path * epoch / recipe.epochs)
        train_loader.set_epoch(epoch)
        # drop-path is baked into a captured graph: a new probability asks for a new capture
        stepper.start_epoch(capture_key=drop_path)
        outcome = _train_epoch(stepper, model, frozen, train_loader, scheduler, recipe, device, memory_format, epoch,
                               progress)
        if outcome["diverged"]:
            status = "diverged"
            message = f"loss became {outcome['train_loss']} in epoch {epoch + 1}; run stopped"
            log.warning(message)
            break
        val_acc, val_loss = (_evaluate(model, forward_eval, val_loader, device, memory_format, autocast, criterion)
                             if val_loader is not None else (None, None))
        metrics = {
            "epoch": epoch + 1,
            "train_loss": outcome["train_loss"],
            "train_acc": outcome["train_acc"],
            "val_acc": val_acc,
            "val_loss": val_loss,
            "lr": optimizer.param_groups[0]["lr"],
            "drop_path": drop_path,
            "images": outcome["images"],
            "train_seconds": outcome["seconds"],
            "time": time.perf_counter() - outcome["started"],
            "images_per_sec": outcome["images"] / max(outcome["seconds"], 1e-9),
            "step": f"{stepper.description}, {step_format}",
            "capture_seconds": stepper.capture_seconds,  # summed over the run so far
        }
        history.append(metrics)
        if progress:
            tqdm.write(_epoch_line(metrics, recipe.epochs))
        stop = bool(on_epoch(dict(metrics))) if on_epoch is not None else False
        if stop and epoch + 1 < recipe.epochs:
            status, message = "stopped", f"stopped by the epoch callback after epoch {epoch + 1}"
        if checkpoint_path is not None:
            _save(checkpoint_path, model, optimizer, scheduler, epoch + 1, history, status, recipe, seed)
        if status == "stopped":
            break

    result = _result(status, history, started, message)
    if eval_test and status != "diverged":
        result.test_acc, _ = _evaluate(model, forward_eval, eval_loader(splits.test), device, memory_format, autocast,
                                       criterion)
    result.wall_time = time.perf_counter() - started
    return result


def loss_function(forward_train, criterion, auxiliary_weight: float):
    """(inputs, labels) -> (loss, logits): what the training step optimises, the auxiliary head's loss included;
    `forward_train` returns a TrainingOutput (nas.models.trainable)."""
    def loss_and_logits(inputs, labels):
        output = forward_train(inputs)
        loss = criterion(output.logits, labels)
        if output.aux_logits is not None and auxiliary_weight > 0:
            loss = loss + auxiliary_weight * criterion(output.aux_logits, labels)
        return loss, output.logits
    return loss_and_logits


def _train_epoch(stepper, model, frozen, loader, scheduler, recipe, device, memory_format, epoch, progress) -> dict:
    model.train()
    for module in frozen:  # frozen stages keep their batch-norm statistics too
        module.eval()
    epoch_started = time.perf_counter()
    loss_sum, correct = stepper.step.loss_sum, stepper.step.correct  # summed on the device by the step
    images = 0
    bar = tqdm(total=len(loader), desc=f"epoch {epoch + 1}/{recipe.epochs}", unit="batch", disable=not progress,
               leave=False, dynamic_ncols=True, mininterval=0.5)
    diverged = False
    with bar:
        for step, (inputs, labels) in enumerate(loader, start=1):
            inputs = inputs.to(device, non_blocking=True).contiguous(memory_format=memory_format)
            labels = labels.to(device, non_blocking=True)
            stepper(inputs, labels)  # forward, backward, clip, optimizer step: eager or a graph replay
            scheduler.step()
            images += len(labels)
            if step % SYNC_EVERY == 0 or step == len(loader):
                mean_loss = loss_sum.item() / images  # the one device sync every SYNC_EVERY steps
                if not math.isfinite(mean_loss):
                    diverged = True
                    break
                seconds = time.perf_counter() - epoch_started
                bar.set_postfix(loss=f"{mean_loss:.3f}", acc=f"{int(correct) / images:.3f}",
                                img_s=f"{images / seconds:.0f}", refresh=False)
            bar.update(1)
    seconds = time.perf_counter() - epoch_started
    mean_loss = loss_sum.item() / max(images, 1)
    return {
        "diverged": diverged or not math.isfinite(mean_loss),
        "train_loss": mean_loss,
        "train_acc": int(correct) / max(images, 1),
        "images": images,
        "seconds": seconds,
        "started": epoch_started,
    }


def _evaluate(model, forward, loader, device, memory_format, autocast, criterion) -> tuple[float, float]:
    model.eval()
    correct = torch.zeros((), device=device, dtype=torch.long)
    loss_sum = torch.zeros((), device=device)
    count = 0
    with torch.inference_mode(), autocast():
        for inputs, labels in loader:
            inputs = inputs.to(device, non_blocking=True).contiguous(memory_format=memory_format)
            labels = labels.to(device, non_blocking=True)
            logits = forward(inputs)
            loss_sum += criterion(logits.float(), labels) * len(labels)
            correct += (logits.argmax(1) == labels).sum()
            count += len(labels)
    return int(correct) / max(count, 1), loss_sum.item() / max(count, 1)


def _result(status: str, history: list[dict], started: float, message: str) -> TrainResult:
    images = sum(h["images"] for h in history)
    seconds = sum(h["train_seconds"] for h in history)
    return TrainResult(
        status=status, history=history, val_acc=history[-1]["val_acc"] if history else None,
        wall_time=time.perf_counter() - started, images_per_sec=images / seconds if seconds else 0.0,
        epochs_completed=len(history), message=message,
    )


def _epoch_line(metrics: dict, epochs: int) -> str:
    val = f"{metrics['val_acc']:.4f}" if metrics["val_acc"] is not None else "-"
    return (f"epoch {metrics['epoch']}/{epochs}: train loss {metrics['train_loss']:.4f} "
            f"acc {metrics['train_acc']:.4f}, val acc {val}, {metrics['images_per_sec']:.0f} img/s, "
            f"{metrics['time']:.1f} s")


def _save(path, model, optimizer, scheduler, epoch, history, status, recipe, seed) -> None:
    save_checkpoint(path, {
        "format": CHECKPOINT_FORMAT,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": epoch,
        "history": history,
        "status": status,
        "recipe": recipe.to_dict(),
        "seed": seed,
    })


def _restore(path, model, optimizer, scheduler, recipe, seed) -> tuple[int, list[dict], str]:
    state = load_checkpoint(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{path} is not a training checkpoint of this engine")
    if state["seed"] != seed or state["recipe"] != recipe.to_dict():
        changed = sorted(k for k in recipe.to_dict() if state["recipe"].get(k) != recipe.to_dict()[k])
        what = f"seed {state['seed']}" if state["seed"] != seed else f"recipe keys {', '.join(changed)}"
        raise ConfigError(f"checkpoint {path} was made with a different {what}; remove it or choose another path")
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:
        raise ConfigError(f"checkpoint {path} does not fit this model: {str(error).splitlines()[0]}") from None
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return int(state["epoch"]), list(state["history"]), state["status"]
