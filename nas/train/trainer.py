"""One trainer for search candidates, full runs, transfers and baselines, driven by a Recipe."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from tqdm import tqdm

from nas.data.loaders import make_loader
from nas.data.splits import Splits
from nas.errors import ConfigError, DataError
from nas.models.trainable import set_drop_path, set_progress, training_forward
from nas.progress_bars import progress_bar
from nas.train.bn_recalibration import recalibrate_batch_norm
from nas.train.checkpoint import CheckpointWriteError, load_checkpoint, save_checkpoint
from nas.train.device_choice import resolve_device
from nas.train.fine_tune import freeze_stages, parameter_groups
from nas.train.format_probe import StepFormat
from nas.train.recipe import Recipe, saved_recipe
from nas.run_status import Status
from nas.train.result import EpochMetrics, Evaluation, TrainResult
from nas.train.schedule import warmup_cosine
from nas.train.step_setup import choose_step_format, make_optimizer, make_stepper, use_cuda_graph

log = logging.getLogger("nas.train")

CHECKPOINT_FORMAT = 1
SYNC_EVERY = 10  # steps between reading the loss back from the device (progress bar, NaN check)

EpochCallback = Callable[[EpochMetrics], "bool | None"]


def train(model: nn.Module, splits: Splits, recipe: Recipe, *, device: str | torch.device = "cpu", seed: int = 0,
          on_epoch: EpochCallback | None = None, checkpoint_path: str | Path | None = None, eval_test: bool = False,
          progress: bool = True, resume: bool = True) -> TrainResult:
    """Train `model` on splits.train, validate on splits.val after each epoch, optionally test at the end.

    on_epoch(metrics) is called after every epoch with that epoch's EpochMetrics; returning True stops the run
    (status pruned). A checkpoint is written after every epoch when checkpoint_path is given, and with resume=True an
    existing one is continued from (same seed and recipe give the same weights as an uninterrupted run). A
    checkpoint that cannot be written stops the run with CheckpointWriteError, its `result` the run so far.
    """
    started = time.perf_counter()
    device = resolve_device(device)
    _check_test_split(splits, eval_test)
    run = _Run.set_up(model, splits, recipe, device, seed)
    history: list[EpochMetrics] = []
    start_epoch = 0
    if checkpoint_path is not None and resume and Path(checkpoint_path).exists():
        start_epoch, history, status = _restore(checkpoint_path, model, run.optimizer, run.scheduler, recipe, seed)
        if status == Status.DIVERGED:
            return _result(Status.DIVERGED, history, started, "resumed a run that had diverged")
        log.info("resuming %s from epoch %d", checkpoint_path, start_epoch)
    run.build_step()
    status, message = Status.OK, ""
    for epoch in range(start_epoch, recipe.epochs):
        # Seed per epoch, so dropout/drop-path draws after a resume match an uninterrupted run.
        torch.manual_seed(seed * 100_003 + epoch)
        set_progress(model, epoch / recipe.epochs)  # a network's own schedule (CondenseNet's condensation)
        drop_path = set_drop_path(model, recipe.drop_path * epoch / recipe.epochs)
        run.train_loader.set_epoch(epoch)
        # drop-path is baked into a captured graph: a new probability asks for a new capture
        run.stepper.start_epoch(capture_key=drop_path)
        outcome = _train_epoch(run.stepper, model, run.frozen, run.train_loader, run.scheduler, recipe, device,
                               run.step_format.memory_format, epoch, progress)
        if outcome["diverged"]:
            status = Status.DIVERGED
            message = f"loss became {outcome['train_loss']} in epoch {epoch + 1}; run stopped"
            log.info(message)  # the result carries it; callers print it once (nas train: one line)
            break
        history.append(run.epoch_metrics(epoch, outcome, drop_path))
        if progress:
            tqdm.write(_epoch_line(history[-1], recipe.epochs))
        stop = bool(on_epoch(history[-1])) if on_epoch is not None else False
        if stop and epoch + 1 < recipe.epochs:
            status, message = Status.PRUNED, f"stopped by the epoch callback after epoch {epoch + 1}"
        if checkpoint_path is not None:
            try:
                _save(checkpoint_path, model, run.optimizer, run.scheduler, epoch + 1, history, status, recipe, seed)
            except CheckpointWriteError as error:  # stop here: the previous epoch's checkpoint is still whole
                ended = status if (status == Status.PRUNED or epoch + 1 == recipe.epochs) else Status.PRUNED
                error.result = _result(ended, history, started, f"stopped after epoch {epoch + 1}: {error}")
                raise
        if status == Status.PRUNED:
            break

    result = _result(status, history, started, message)
    result.num_classes = splits.num_classes
    if eval_test and status != Status.DIVERGED:
        tested = run.evaluate(run.loader_for(splits.test), epoch=len(history) - 1)
        result.test_acc, result.test_top_class_share, result.test_images = (tested.accuracy, tested.top_class_share,
                                                                             tested.images)
    result.wall_time = time.perf_counter() - started
    return result


def _check_test_split(splits: Splits, eval_test: bool) -> None:
    if eval_test and splits.test is None:
        if splits.purpose == "search":
            raise ConfigError("eval_test asked on a search split: the test images are kept from searches; "
                              "use make_splits(purpose='final')")
        raise DataError("the dataset has no test split (no test/ or val/ folder), so eval_test cannot run")


@dataclass
class _Run:
    """What one run sets up before its first epoch: step format, loaders, frozen stages, optimizer, schedule, and
    (after a checkpoint is restored) the training step itself."""

    model: nn.Module
    splits: Splits
    recipe: Recipe
    device: torch.device
    graph: bool
    criterion: nn.Module
    step_format: StepFormat
    train_loader: object
    val_loader: object
    frozen: list
    optimizer: torch.optim.Optimizer
    scheduler: object
    stepper: object = None
    forward_eval: Callable | None = None
    recalibrated_epoch: int | None = None  # the epoch whose weights the batch-norm statistics were recalibrated for

    @classmethod
    def set_up(cls, model, splits: Splits, recipe: Recipe, device: torch.device, seed: int) -> "_Run":
        graph = use_cuda_graph(recipe, device, model)
        criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
        shape = (splits.channels, splits.image_size, splits.image_size)
        # The recipe's bf16/channels_last, or on a CUDA graph the fastest of them by a short probe (format_probe.py)
        step_format = choose_step_format(
            model, recipe, graph=graph, device=device, num_classes=splits.num_classes,
            batch_shape=(min(recipe.batch_size, len(splits.train)), *shape),
            loss_for=lambda network: loss_function(training_forward(network), criterion, recipe.auxiliary_weight))
        model.to(device=device, memory_format=step_format.memory_format)
        train_loader = make_loader(splits.train, splits, train=True, batch_size=recipe.batch_size, device=device,
                                   crop_padding=recipe.crop_padding, flip=recipe.flip, cutout=recipe.cutout,
                                   seed=seed)
        frozen = freeze_stages(model, recipe.freeze_stages, shape)
        optimizer = make_optimizer(parameter_groups(model, recipe.lr, recipe.lr_backbone), recipe, graph=graph)
        steps = len(train_loader)
        scheduler = warmup_cosine(optimizer, total_steps=recipe.epochs * steps, lr=recipe.lr, lr_min=recipe.lr_min,
                                  warmup_steps=round(recipe.warmup_epochs * steps))
        run = cls(model, splits, recipe, device, graph, criterion, step_format, train_loader, None, frozen,
                  optimizer, scheduler)
        run.val_loader = run.loader_for(splits.val) if splits.val is not None and len(splits.val) else None
        return run

    def loader_for(self, images):
        return make_loader(images, self.splits, train=False, batch_size=self.recipe.eval_batch_size,
                           device=self.device)

    def build_step(self) -> None:
        forward_train, self.forward_eval = training_forward(self.model), self.model
        if self.recipe.compile:
            forward_train, self.forward_eval = torch.compile(forward_train), torch.compile(self.model)
        loss = loss_function(forward_train, self.criterion, self.recipe.auxiliary_weight)
        self.stepper = make_stepper(self.model, self.optimizer, loss, self.recipe, self.step_format, graph=self.graph,
                                    device=self.device)

    def evaluate(self, loader, epoch: int) -> Evaluation:
        """Evaluate the weights after `epoch` (0-based), recalibrating batch norm first if the recipe asks."""
        if self.recipe.bn_recalibration_batches and self.recalibrated_epoch != epoch:
            self.train_loader.set_epoch(max(epoch, 0))  # the epoch's own batches: a resumed run recalibrates alike
            recalibrate_batch_norm(self.model, self.train_loader, self.recipe.bn_recalibration_batches,
                                   device=self.device, memory_format=self.step_format.memory_format,
                                   frozen=self.frozen)
            self.recalibrated_epoch = epoch
        bf16 = self.step_format.bf16
        autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
        return _evaluate(self.model, self.forward_eval, loader, self.device, self.step_format.memory_format,
                         autocast, self.criterion)

    def epoch_metrics(self, epoch: int, outcome: dict, drop_path: float | None) -> EpochMetrics:
        evaluation_started = time.perf_counter()
        validated = self.evaluate(self.val_loader, epoch) if self.val_loader is not None else Evaluation()
        eval_seconds = time.perf_counter() - evaluation_started
        return EpochMetrics(
            epoch=epoch + 1, train_loss=outcome["train_loss"], train_acc=outcome["train_acc"],
            val_acc=validated.accuracy, val_loss=validated.loss, val_top_class_share=validated.top_class_share,
            lr=self.optimizer.param_groups[0]["lr"], drop_path=drop_path,
            images=outcome["images"], train_seconds=outcome["seconds"],
            time=time.perf_counter() - outcome["started"],
            images_per_sec=outcome["images"] / max(outcome["seconds"], 1e-9),
            step=f"{self.stepper.description}, {self.step_format}", capture_seconds=self.stepper.capture_seconds,
            eval_seconds=eval_seconds)


def loss_function(forward_train, criterion, auxiliary_weight: float):
    """(inputs, labels) -> (loss, logits): what the training step optimises, the auxiliary head's loss and the
    network's own penalty included; `forward_train` returns a TrainingOutput (nas.models.trainable)."""
    def loss_and_logits(inputs, labels):
        output = forward_train(inputs)
        loss = criterion(output.logits, labels)
        if auxiliary_weight > 0:
            for aux_logits in output.aux_heads:
                loss = loss + auxiliary_weight * criterion(aux_logits, labels)
        if output.penalty is not None:
            loss = loss + output.penalty
        return loss, output.logits
    return loss_and_logits


def _train_epoch(stepper, model, frozen, loader, scheduler, recipe, device, memory_format, epoch, progress) -> dict:
    model.train()
    for module in frozen:  # frozen stages keep their batch-norm statistics too
        module.eval()
    epoch_started = time.perf_counter()
    loss_sum, correct = stepper.step.loss_sum, stepper.step.correct  # summed on the device by the step
    images = 0
    bar = progress_bar(progress, total=len(loader), desc=f"epoch {epoch + 1}/{recipe.epochs}", unit="batch",
                       dynamic_ncols=True, mininterval=0.5)
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


def _evaluate(model, forward, loader, device, memory_format, autocast, criterion) -> Evaluation:
    model.eval()
    correct = torch.zeros((), device=device, dtype=torch.long)
    loss_sum = torch.zeros((), device=device)
    predicted = None  # images per predicted class, summed on the device (the share of the top class)
    count = 0
    with torch.inference_mode(), autocast():
        for inputs, labels in loader:
            inputs = inputs.to(device, non_blocking=True).contiguous(memory_format=memory_format)
            labels = labels.to(device, non_blocking=True)
            logits = forward(inputs)
            loss_sum += criterion(logits.float(), labels) * len(labels)
            predictions = logits.argmax(1)
            correct += (predictions == labels).sum()
            counts = torch.bincount(predictions, minlength=logits.shape[1])
            predicted = counts if predicted is None else predicted + counts
            count += len(labels)
    if not count:
        return Evaluation(accuracy=0.0, loss=0.0, images=0)
    return Evaluation(accuracy=int(correct) / count, loss=loss_sum.item() / count,
                      top_class_share=int(predicted.max()) / count, images=count)


def _result(status: str, history: list[EpochMetrics], started: float, message: str) -> TrainResult:
    images = sum(epoch.images for epoch in history)
    seconds = sum(epoch.train_seconds for epoch in history)
    return TrainResult(
        status=status, history=history, val_acc=history[-1].val_acc if history else None,
        wall_time=time.perf_counter() - started, images_per_sec=images / seconds if seconds else 0.0,
        epochs_completed=len(history), message=message,
    )


def _epoch_line(metrics: EpochMetrics, epochs: int) -> str:
    val = f"{metrics.val_acc:.4f}" if metrics.val_acc is not None else "-"
    return (f"epoch {metrics.epoch}/{epochs}: train loss {metrics.train_loss:.4f} "
            f"acc {metrics.train_acc:.4f}, val acc {val}, {metrics.images_per_sec:.0f} img/s, "
            f"{metrics.time:.1f} s")


def _save(path, model, optimizer, scheduler, epoch, history, status, recipe, seed) -> None:
    save_checkpoint(path, {
        "format": CHECKPOINT_FORMAT,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": epoch,
        "history": [epoch.to_dict() for epoch in history],  # plain data: checkpoints load with weights_only
        "status": str(status),
        "recipe": recipe.to_dict(),
        "seed": seed,
    })


def _restore(path, model, optimizer, scheduler, recipe, seed) -> tuple[int, list[EpochMetrics], str]:
    state = load_checkpoint(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{path} is not a training checkpoint of this engine")
    saved = saved_recipe(state["recipe"])
    if state["seed"] != seed or saved != recipe.to_dict():
        changed = sorted(k for k in recipe.to_dict() if saved.get(k) != recipe.to_dict()[k])
        what = f"seed {state['seed']}" if state["seed"] != seed else f"recipe keys {', '.join(changed)}"
        raise ConfigError(f"checkpoint {path} was made with a different {what}; remove it or choose another path")
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:
        raise ConfigError(f"checkpoint {path} does not fit this model: {str(error).splitlines()[0]}") from None
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return int(state["epoch"]), [EpochMetrics.from_dict(epoch) for epoch in state["history"]], state["status"]
