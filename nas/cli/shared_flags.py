"""The flags every command that trains offers (`nas search`, `nas train`, `nas transfer`, `nas compare`), each
defined once, so a flag means the same and reads the same in every command's --help.

`--depth` is the number of cells of a cell network everywhere; `--cells` is `nas compare`'s list of cell names.
`nas train`, `nas transfer` and `nas profile` still take `--cells N` for the depth, hidden, with a one-line notice.
"""

from __future__ import annotations

import argparse
import sys

from nas.cli.commands import dataset_name
from nas.cluster.resources import AUTO_GPUS

IMPORT_HELP = ("module to import first, e.g. one that registers ops, baselines, samplers or datasets (repeatable)")
DATA_HELP = ("dataset folder (CIFAR-10 batches, downloaded into it when online, or an image-folder tree with train/ "
             "and a test/ or val/ split)")
DATASET_HELP = ("%(type)s (default auto: an image-folder tree when DATA/train/ exists, else CIFAR-10; checked once "
                "the --import modules are loaded)")
GPUS_PER_TRIAL_HELP = ("GPUs per trial: fractions share one GPU between trials (0.25); auto: probe a network of the "
                       "run on a GPU of the cluster and fill each GPU with as many as raise throughput (0 without GPUs)")
TEST_SUBSET_HELP = ("test on a class-balanced subset of N test images (default: all of them); the records say how "
                    "many (test_images)")
DEPTH_HELP = "number of cells of the cell networks, reductions included (default: the recipe's)"
CELLS_DEPRECATED = "--cells is deprecated for the depth; use --depth"


def add_import_flag(parser) -> None:
    parser.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE", help=IMPORT_HELP)


def add_data_flag(parser, required: bool = True) -> None:
    """`required=False` where a config file may name the folder instead (`nas search`)."""
    parser.add_argument("--data", required=required, metavar="DIR", help=DATA_HELP)


def add_dataset_flag(parser) -> None:
    # Not checked while parsing: a module named by --import may register the dataset source; each command checks
    # the name once it has imported them.
    parser.add_argument("--dataset", type=dataset_name(check=False), help=DATASET_HELP)


def gpus_per_trial_value(text: str) -> float | str:
    """An argparse type for --gpus-per-trial: a number (a fraction shares a GPU), or auto."""
    if text == AUTO_GPUS:
        return AUTO_GPUS
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or {AUTO_GPUS}, got {text!r}") from None


def add_test_subset_flag(parser) -> None:
    parser.add_argument("--test-subset", type=int, metavar="N", help=TEST_SUBSET_HELP)


def add_gpus_per_trial_flag(parser, default: float | None = 0) -> None:
    """`default=None` where a config file holds the default (`nas search`)."""
    parser.add_argument("--gpus-per-trial", type=gpus_per_trial_value, default=default, metavar=f"N|{AUTO_GPUS}",
                        help=GPUS_PER_TRIAL_HELP)


class _DeprecatedDepth(argparse.Action):
    """`--cells N` where it used to mean the depth: stores N as --depth would, and prints the notice once (on
    stdout with the command's other lines; on stderr where stdout is data, as `nas profile --json`'s)."""

    def __init__(self, *args, notice_file=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.notice_file = notice_file

    def __call__(self, parser, namespace, values, option_string=None):
        if not getattr(namespace, "_cells_notice_printed", False):
            print(f"{parser.prog}: {CELLS_DEPRECATED}", file=self.notice_file or sys.stdout)
            namespace._cells_notice_printed = True
        setattr(namespace, self.dest, values)


def add_depth_flag(parser, deprecated_cells: bool = False, *, help: str = DEPTH_HELP, type=int,
                   notice_file=None) -> None:
    """`deprecated_cells`: also take the old `--cells N` for the depth (hidden from --help)."""
    parser.add_argument("--depth", type=type, metavar="N", help=help)
    if deprecated_cells:
        parser.add_argument("--cells", dest="depth", type=type, action=_DeprecatedDepth, notice_file=notice_file,
                            help=argparse.SUPPRESS)
