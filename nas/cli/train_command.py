"""`nas train`: train one cell network or baseline with a recipe and write metrics.json and a checkpoint."""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

from nas.atomic_files import check_writable_folder, write_text_atomic
from nas.cli.commands import output_place, register_command, seed_number, stack_name
from nas.cli.shared_flags import (add_data_flag, add_dataset_flag, add_depth_flag, add_import_flag,
                                  add_test_subset_flag)
from nas.errors import ConfigError, Interrupted
from nas.plural import count_of
from nas.registry import import_user_modules
from nas.run_status import Status
from nas.space.genotype_files import resolve_genotype
from nas.space.nasbench201 import is_nasbench201_arch

METRICS_FILE = "metrics.json"
CHECKPOINT_FILE = "checkpoint.pt"


def _train_arguments(parser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--genotype", help="published cell name (e.g. darts-v2), genotype file or NAS-Bench-201 string "
                                         "('|nor_conv_3x3~0|+|...|': the benchmark's network, C=16, 17 cells)")
    what.add_argument("--baseline", help="hand-designed network name (e.g. resnet20)")
    add_data_flag(parser)
    add_dataset_flag(parser)
    parser.add_argument("--recipe", default="proxy", help="proxy, full or a recipe YAML file (default proxy)")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--batch-size", type=int, help="override the recipe's batch size")
    parser.add_argument("--channels", type=int, help="initial channels C of a cell network")
    add_depth_flag(parser, deprecated_cells=True)
    parser.add_argument("--stack", type=stack_name(),
                        help="how a cell is stacked: %(type)s (default: cifar for small images, imagenet for large "
                             "ones)")
    parser.add_argument("--subset", type=int, help="train on a class-balanced subset of this many images")
    parser.add_argument("--val-size", type=int, help="held-out validation images (default 10%% of the training pool)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    parser.add_argument("--eval-test", action="store_true", help="also evaluate on the test split at the end")
    add_test_subset_flag(parser)
    parser.add_argument("--seed", type=seed_number, default=0)
    parser.add_argument("--cache-dir", help="where decoded datasets are cached (default $NAS_CACHE_DIR or "
                                            "~/.cache/nas/datasets)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if it exists")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--init", metavar="CHECKPOINT",
                        help="fine-tune: start from these weights (a nas train checkpoint.pt, or a state dict such as "
                             "torchvision's); the classifier is replaced when the class count differs")
    parser.add_argument("--freeze-stages", type=int, help="fine-tune: keep the first N stages (resolutions) fixed")
    parser.add_argument("--lr-backbone", type=float, help="fine-tune: learning rate of all but the classifier, as a "
                                                          "fraction of the recipe's (e.g. 0.1)")
    add_import_flag(parser)
    parser.add_argument("--out", required=True, type=output_place, help="folder for metrics.json and checkpoint.pt")


@register_command("train", help="train a cell network or a baseline on a dataset", arguments=_train_arguments)
def run_train(args) -> int:
    """Train one cell network or baseline with a recipe and write metrics.json and a checkpoint."""
    # Before torch loads OpenMP: passive waiting keeps CPU training from collapsing when other processes share
    # the cores (measured on a loaded 2-core VM: 0.5 s/step instead of 1-3 s, resnet20 batch 128).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.models.profile import count_params_and_macs
    from nas.train import train
    from nas.train.checkpoint import CheckpointWriteError, check_room

    out = Path(args.out)
    recipe = _check_request(args, out)
    dataset, splits = _load_data(args)
    model = _build_model(args, recipe, dataset)
    if args.init:
        # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
        from nas.train.fine_tune import load_initial_weights

        initial = load_initial_weights(model, args.init,
                                       other_classes=_trained_on_other_classes(args.init, dataset.classes))
        print(f"weights from {args.init}{initial.describe(dataset.num_classes)}")
    profile = count_params_and_macs(model, (1, dataset.channels, dataset.image_size, dataset.image_size))
    print(f"model: {profile['params'] / 1e6:.3f}M params, {profile['macs'] / 1e6:.1f}M multiply-adds")

    check_room(model, out / CHECKPOINT_FILE)
    made = _folders_to_make(out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        result = train(model, splits, recipe, device=args.device, seed=args.seed,
                       checkpoint_path=out / CHECKPOINT_FILE, eval_test=args.eval_test,
                       progress=not args.no_progress, resume=args.resume)
    except CheckpointWriteError as error:
        line = _keep_metrics(out, error, args, recipe, dataset, splits, profile)
        _remove_if_empty(made)
        raise ConfigError(line) from None
    except KeyboardInterrupt:  # Ctrl-C: the last whole epoch's checkpoint is kept (written atomically), or nothing
        _remove_if_empty(made)
        kept = out / CHECKPOINT_FILE
        raise Interrupted(f"the checkpoint of the last whole epoch is {kept}: add --resume to continue" if
                          kept.exists() else "no epoch had finished; nothing was written") from None
    except BaseException:  # a crash before the first checkpoint: leave no empty run folder behind
        _remove_if_empty(made)
        raise
    _write_json(out / METRICS_FILE, _metrics_document(args, recipe, dataset, splits, profile, result, out))
    test = f", test acc {result.test_acc:.4f}" if result.test_acc is not None else ""
    val = f"{result.val_acc:.4f}" if result.val_acc is not None else "-"
    degenerate = result.degenerate_reason()
    print(f"{result.status}: val acc {val}{test}, {result.images_per_sec:.0f} img/s, {result.wall_time:.1f} s; "
          f"wrote {out / METRICS_FILE}" + (f" — degenerate: {degenerate}" if degenerate else ""))
    if result.status == Status.DIVERGED:
        print(f"nas train: {result.message}", file=sys.stderr)
        return 1
    return 0


def _keep_metrics(out: Path, error, args, recipe, dataset, splits, profile) -> str:
    """A checkpoint could not be written: keep the run's metrics (small, so they usually still fit) and return the
    one line that says what was kept and what was not. Exit code 2: the run's weights are lost (the previous
    epoch's checkpoint, if any, is whole, and --resume continues from it)."""
    result = error.result
    document = _metrics_document(args, recipe, dataset, splits, profile, result, out)
    earlier = (out / CHECKPOINT_FILE).exists()  # the last epoch whose checkpoint was written
    document["checkpoint"] = str(out / CHECKPOINT_FILE) if earlier else None
    document["checkpoint_error"] = error.reason
    val = f"val acc {result.val_acc:.4f}" if result.val_acc is not None else "no val acc"
    done = (f"trained {result.epochs_completed} of {count_of(recipe.epochs, 'epoch')} ({val}), but the checkpoint "
            f"could not be written: {error.reason}")
    try:
        _write_json(out / METRICS_FILE, document)
    except OSError as problem:
        return f"{done}; nor could {out / METRICS_FILE} ({problem.strerror}): free some space and train again"
    return (f"{done}; the metrics are in {out / METRICS_FILE}; "
            + ("the previous epoch's checkpoint is whole: free some space and --resume" if earlier else
               "free some space and train again"))


def _folders_to_make(out: Path) -> Path | None:
    """The outermost folder of `out` that does not exist yet (what mkdir will make), or None."""
    made = None
    for folder in (out, *out.parents):
        if folder.exists():
            break
        made = folder
    return made


def _remove_if_empty(made: Path | None) -> None:
    if made is None:
        return
    for folder in sorted((made, *[p for p in made.rglob("*") if p.is_dir()]), key=lambda p: -len(p.parts)):
        try:
            folder.rmdir()  # only empty folders go; a file written meanwhile keeps its folder
        except OSError:
            return


def _check_request(args, out: Path):
    """Everything that can be wrong with the command, before the data is read; returns the recipe."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.train import load_recipe
    from nas.train.device_choice import resolve_device

    import_user_modules(args.imports, where="--import")  # first: they may register ops, baselines or datasets
    _check_out(out, args.resume)
    resolve_device(args.device)
    recipe = load_recipe(args.recipe, {"epochs": args.epochs, "batch_size": args.batch_size,
                                       "channels": args.channels, "cells": args.depth,
                                       "freeze_stages": args.freeze_stages, "lr_backbone": args.lr_backbone})
    _check_model_name(args)
    if args.test_subset is not None and not args.eval_test:
        raise ConfigError("--test-subset needs --eval-test: without it nothing is tested")
    if args.init and not Path(args.init).is_file():
        raise ConfigError(f"--init {args.init}: no such checkpoint file")
    return recipe


def _check_out(out: Path, resume: bool) -> None:
    """OUT must be writable, and must not hold another run unless it is resumed: a diverged run leaves only its
    metrics.json, and that is a result too."""
    check_writable_folder(out, "--out")
    held = [name for name in (CHECKPOINT_FILE, METRICS_FILE) if (out / name).exists()]
    if held and not resume:
        raise ConfigError(f"{out} already holds a run ({held[0]}); pass --resume to continue it or choose another "
                          f"--out")


def _load_data(args):
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.data import load_dataset, make_splits
    from nas.data.sources import AUTO

    started = time.perf_counter()
    dataset = load_dataset(args.dataset or AUTO, args.data, cache_dir=args.cache_dir, progress=not args.no_progress)
    load_seconds = time.perf_counter() - started
    print(dataset.describe())
    for line in dataset.note_lines():
        print(line)
    if dataset.cache_path:
        verb = "used" if dataset.from_cache else "written"
        print(f"dataset cache {verb}: {dataset.cache_path} ({load_seconds:.2f} s)")
    splits = make_splits(dataset, purpose="final" if args.eval_test else "search", val_size=args.val_size,
                         subset=args.subset, test_subset=args.test_subset, seed=args.seed)
    print(splits.describe())
    return dataset, splits


def _metrics_document(args, recipe, dataset, splits, profile, result, out: Path) -> dict:
    """metrics.json: what was trained, on what, how it went, and how to run it again."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.train.device_choice import describe_device

    return {
        "command": _command_line(),
        "model": {"genotype": args.genotype, "baseline": args.baseline, **_model_size(args, recipe)},
        "dataset": {"name": dataset.name, "root": dataset.root, "classes": dataset.num_classes,
                    "class_names": list(dataset.classes),
                    "image_size": dataset.image_size, "channels": dataset.channels,
                    "train": len(splits.train), "val": len(splits.val) if splits.val is not None else 0,
                    "test": len(splits.test) if (splits.test is not None and args.eval_test) else 0,
                    "subset": args.subset, "test_subset": args.test_subset, "cache_used": dataset.from_cache},
        "status": result.status,
        "message": result.message,
        "history": [epoch.to_dict() for epoch in result.history],  # the key campaigns' metrics.json use too
        "val_acc": result.val_acc,
        "test_acc": result.test_acc,
        "test_images": result.test_images,  # what test_acc rests on (the whole test split or --test-subset)
        "num_classes": result.num_classes,
        "val_top_class_share": result.val_top_class_share,  # share of the most-predicted class
        "test_top_class_share": result.test_top_class_share,
        "degenerate": result.degenerate_reason(),  # "" or why the accuracy is no result (nas.train.degenerate)
        "params": profile["params"],
        "macs": profile["macs"],
        "wall_time": result.wall_time,
        "images_per_sec": result.images_per_sec,
        "device": describe_device(args.device),
        "recipe": recipe.to_dict(),
        "seed": args.seed,
        "init": args.init,
        "checkpoint": str(out / CHECKPOINT_FILE),
    }


def _model_size(args, recipe) -> dict:
    """The width and depth trained: a cell stack's are the recipe's, a NAS-Bench-201 network's the benchmark's
    unless --channels / --depth were given; a baseline has its own (None)."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.models.nasbench201_network import DEFAULT_CELLS, DEFAULT_CHANNELS

    if is_nasbench201_arch(args.genotype):
        return {"channels": args.channels or DEFAULT_CHANNELS, "cells": args.depth or DEFAULT_CELLS}
    return {"channels": recipe.channels if args.genotype else None, "cells": recipe.cells if args.genotype else None}


def _command_line() -> str | None:
    """The command as typed, `nas ...` or `python -m nas ...` (argv[0] is then nas/__main__.py); None when called
    from Python (tests), whose argv is not this run's."""
    program = Path(sys.argv[0]) if sys.argv else None
    if program is None or not (program.name == "nas" or program.parent.name == "nas" and program.name == "__main__.py"):
        return None
    return shlex.join(["nas" if program.name == "nas" else "python -m nas", *sys.argv[1:]])


def _trained_on_other_classes(checkpoint: str, classes: list[str]) -> bool:
    """Whether the run that wrote `checkpoint` (its metrics.json beside it says) learnt other classes than these,
    even as many: then its classifier is made anew. Unknown (no metrics.json, an older one): only the count tells."""
    try:
        recorded = json.loads((Path(checkpoint).parent / METRICS_FILE).read_text()).get("dataset", {})
    except (OSError, ValueError, AttributeError):
        return False
    names = recorded.get("class_names") if isinstance(recorded, dict) else None
    return isinstance(names, list) and names != list(classes)


def _check_model_name(args) -> None:
    """Fail on an unknown cell or baseline before spending time on the data."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.models import get_model, known_op_names
    from nas.models.nasbench201_network import check_nasbench201_network

    if is_nasbench201_arch(args.genotype):
        check_nasbench201_network(args.genotype, stack=args.stack, channels=args.channels, cells=args.depth)
    elif args.genotype is not None:
        resolve_genotype(args.genotype).validate(known_op_names())
    else:
        get_model(args.baseline, kind="baseline")


def _build_model(args, recipe, dataset):
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.train.network_for_data import network_for_data

    return network_for_data(recipe=recipe, genotype=args.genotype, baseline=args.baseline, stack=args.stack,
                            num_classes=dataset.num_classes, in_channels=dataset.channels,
                            image_size=dataset.image_size, seed=args.seed, channels=args.channels, cells=args.depth)


def _write_json(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")
