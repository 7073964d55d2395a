"""One meaning per flag across commands (issue 19): --depth is the depth of the cell networks everywhere, --cells is
`nas compare`'s list of cells (and, hidden and deprecated, the old depth flag of `nas train`, `nas transfer` and
`nas profile`);
--import, --data, --dataset and --gpus-per-trial are defined once and read the same in every command that trains."""

from __future__ import annotations

import argparse
import json

import pytest

from nas.cli import build_parser, main, parse_arguments
from nas.cli import shared_flags
from nas.cluster.resources import AUTO_GPUS
from nas.data.sources import dataset_choices

TRAINING_COMMANDS = ("search", "train", "transfer", "compare")
SHARED = {  # flag -> (its help, the commands that offer it)
    "--import": (shared_flags.IMPORT_HELP, TRAINING_COMMANDS),
    "--data": (shared_flags.DATA_HELP, TRAINING_COMMANDS),
    "--dataset": (shared_flags.DATASET_HELP, TRAINING_COMMANDS),
    # `nas train` trains on one local device (--device), without Ray: no trial shares a GPU
    "--gpus-per-trial": (shared_flags.GPUS_PER_TRIAL_HELP, ("search", "transfer", "compare")),
    "--depth": (shared_flags.DEPTH_HELP, ("train", "transfer", "compare")),
    "--test-subset": (shared_flags.TEST_SUBSET_HELP, ("train", "transfer", "compare")),
}
DEPRECATION = "--cells is deprecated for the depth; use --depth"


def subcommand_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    subparsers = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return dict(subparsers.choices)


def flag_action(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return parser._option_string_actions.get(flag)


def help_text(capsys, monkeypatch, command: str) -> str:
    monkeypatch.setenv("COLUMNS", "1000")  # no wrapping: a help text reads as one line
    capsys.readouterr()
    assert main([command, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("flag", SHARED)
def test_each_shared_flag_is_defined_once_and_reads_the_same_in_every_command(flag, capsys, monkeypatch):
    text, commands = SHARED[flag]
    parsers = subcommand_parsers()
    actions = {command: flag_action(parsers[command], flag) for command in TRAINING_COMMANDS}
    assert {command for command, action in actions.items() if action is not None} == set(commands)
    assert {actions[command].help for command in commands} == {text}
    assert len({(action.dest, getattr(action.type, "__name__", None), action.metavar, action.nargs)
                for action in map(actions.get, commands)}) == 1
    shown = " ".join(text.split()).replace("%(type)s", ", ".join(dataset_choices()))
    for command in commands:
        assert shown in help_text(capsys, monkeypatch, command), command


def test_cells_is_the_list_in_compare_and_hidden_elsewhere(capsys, monkeypatch):
    compare = help_text(capsys, monkeypatch, "compare")
    assert "--cells NAME|FILE,..." in compare and "their depth is --depth" in compare
    for command in ("train", "transfer"):
        assert "--cells" not in help_text(capsys, monkeypatch, command), command
    args = parse_arguments(build_parser(), ["compare", "--cells", "darts-v2,my/best.yaml", "--name", "x",
                                            "--data", "d", "--depth", "5"])
    assert (args.cell_names, args.depth) == ("darts-v2,my/best.yaml", 5)
    assert DEPRECATION not in capsys.readouterr().out


@pytest.mark.parametrize("command", [["train", "--genotype", "darts-v2", "--data", "d", "--out", "o"],
                                     ["transfer", "results/quick", "--data", "d"]])
def test_the_old_cells_flag_of_train_and_transfer_is_the_depth_with_one_notice(command, capsys):
    args = parse_arguments(build_parser(), [*command, "--depth", "4"])
    assert args.depth == 4 and DEPRECATION not in capsys.readouterr().out
    args = parse_arguments(build_parser(), [*command, "--cells", "3", "--cells", "3"])
    out = capsys.readouterr().out
    assert args.depth == 3
    assert out.splitlines() == [f"nas {command[0]}: {DEPRECATION}"]  # once, however often it is given


def test_train_with_the_old_cells_flag_trains_that_depth(tmp_path, capsys):
    from search_fixtures import make_image_folder

    data = make_image_folder(tmp_path / "data")
    assert main(["train", "--genotype", "darts-v2", "--channels", "4", "--cells", "3", "--data", str(data),
                 "--epochs", "1", "--batch-size", "16", "--no-progress", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"nas train: {DEPRECATION}" and out.count(f"nas train: {DEPRECATION}") == 1
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["model"]["cells"] == 3 and metrics["recipe"]["cells"] == 3


def test_gpus_per_trial_is_a_number_or_auto_everywhere():
    assert shared_flags.gpus_per_trial_value("auto") == AUTO_GPUS and shared_flags.gpus_per_trial_value("0.25") == 0.25
    with pytest.raises(argparse.ArgumentTypeError, match="expected a number or auto, got 'lots'"):
        shared_flags.gpus_per_trial_value("lots")
    for command in (["search"], ["transfer", "results/quick", "--data", "d"],
                    ["compare", "--baselines", "resnet20", "--name", "x", "--data", "d"]):
        assert parse_arguments(build_parser(), [*command, "--gpus-per-trial", "auto"]).gpus_per_trial == AUTO_GPUS


def test_an_unknown_dataset_is_refused_once_the_imports_are_loaded(tmp_path, capsys):
    from search_fixtures import make_image_folder

    data = make_image_folder(tmp_path / "data")
    assert main(["train", "--baseline", "resnet20", "--data", str(data), "--dataset", "mnist",
                 "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "unknown dataset 'mnist'" in error
    assert not (tmp_path / "run").exists()


def test_optuna_storage_flag_reaches_only_samplers_that_keep_a_study():
    """--optuna-storage sets sampler_options.storage of the Optuna samplers; a sampler without a `storage` option
    ignores it, as it ignores the config's old optuna_storage key (it was never refused)."""
    from nas.cli.search_command import _with_optuna_storage
    from nas.search.experiment_config import load_experiment_config

    url = "sqlite:////tmp/elsewhere/optuna.db"
    for sampler, expected in (("tpe", {"storage": url}), ("nsga2", {"storage": url}), ("evolution", {}),
                              ("controller", {})):
        config = load_experiment_config(None, {"sampler": sampler})
        assert _with_optuna_storage(config, url).sampler_options == expected, sampler


def test_sampler_options_from_the_command_line_reach_the_config_typed_and_survive_a_resume():
    from nas.cli.search_command import resume_command
    from nas.search.experiment_config import load_experiment_config

    args = build_parser().parse_args(["search", "--sampler-option", "n_startup_trials=5",
                                      "--sampler-option", "multivariate=false", "--data", "/data"])
    assert args.sampler_options == [("n_startup_trials", 5), ("multivariate", False)]
    config = load_experiment_config(args.config, {f"sampler_options.{k}": v for k, v in args.sampler_options})
    assert config.sampler_options["n_startup_trials"] == 5 and config.sampler_options["multivariate"] is False
    again = build_parser().parse_args(["search", *resume_command(args).split()[2:]])
    assert again.sampler_options == args.sampler_options and again.resume


def test_a_sampler_option_without_a_value_is_refused_in_one_line(capsys):
    assert main(["search", "--sampler-option", "n_startup_trials", "--data", "/data"]) == 2
    assert "--sampler-option: expected KEY=VALUE" in capsys.readouterr().err
