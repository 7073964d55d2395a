"""The bad-input catalogue: every user error the engine knows, one case each (README: "What the engine refuses").

Each case runs a command on a workspace holding a config, an image folder, an existing experiment and a previous
`nas train` output, and checks the engine's rule: exit code 2, exactly one line on stderr, no traceback, every
file that existed before byte-for-byte unchanged and nothing new anywhere (no experiment folder, no dataset
cache), and no Ray started: every case is refused before any training or Ray start.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nas.cli import main
from nas.data import load_dataset
from search_fixtures import REPOSITORY, fake_experiment, make_image_folder, write_config

README = REPOSITORY / "README.md"
CATALOGUE_HEADING = "## What the engine refuses"


@dataclass(frozen=True)
class Case:
    command: str  # the README table's columns: command, what is wrong, the message (a fragment of the line)
    input: str
    argv: tuple[str, ...]  # {placeholders}: see `places`
    message: str
    files: dict = field(default_factory=dict)  # written into the case's own folder ({case}) first
    read_only: str = ""  # a {placeholder} folder the OS reports read-only (os.access), as to a user not root
    env: dict = field(default_factory=dict)
    prefix: str = ""  # how the line starts, when not `nas <command>: error: `

    @property
    def id(self) -> str:
        return f"{self.command}: {self.input}"


SEARCH = ("search", "--config", "{config}")
RESUME = ("search", "--config", "{existing_config}", "--resume")
TRAIN = ("train", "--baseline", "resnet20", "--data", "{data}")

CASES = [
    # --- where results go: checked before any data is loaded or Ray started -------------------------------------
    Case("search", "--results-dir is a file", (*SEARCH, "--results-dir", "{file}"),
         "is a file, not a folder"),
    Case("search", "--results-dir below a file", (*SEARCH, "--results-dir", "{file}/results"),
         "is a file, not a folder"),
    Case("search", "--results-dir read-only", (*SEARCH, "--results-dir", "{readonly}/results"),
         "(read-only)", read_only="{readonly}"),
    Case("search", "--resume of a read-only experiment", RESUME, "cannot write in", read_only="{existing}"),
    Case("search", "--storage (Ray's) is a file", (*SEARCH, "--storage", "{file}"), "storage"),
    # --- nas train never overwrites a run ---------------------------------------------------------------------
    Case("train", "--out holds a run", (*TRAIN, "--out", "{previous}"), "already holds a run (checkpoint.pt)"),
    Case("train", "--out holds a diverged run (metrics.json only)", (*TRAIN, "--out", "{case}/diverged"),
         "already holds a run (metrics.json)", files={"diverged/metrics.json": '{{"status": "diverged"}}\n'}),
    # --- the Optuna database: read before the experiment folder is made ------------------------------------
    Case("search", "--optuna-storage not a URL", (*SEARCH, "--optuna-storage", "notaurl"),
         "optuna_storage 'notaurl' is not a database URL"),
    Case("search", "--optuna-storage of an unknown database kind", (*SEARCH, "--optuna-storage", "nosuchdb://host/x"),
         "Can't load plugin"),
    Case("search", "--optuna-storage SQLite file below a file", (*SEARCH, "--optuna-storage", "sqlite:///{file}/o.db"),
         "is a file, not a folder"),
    Case("train", "--out is a file", (*TRAIN, "--out", "{file}"), "is a file, not a folder"),
    Case("train", "--out read-only", (*TRAIN, "--out", "{readonly}/run"), "(read-only)", read_only="{readonly}"),
    Case("show", "--out in a read-only folder", ("show", "darts-v2", "--out", "{readonly}/cell.png"),
         "(read-only)", read_only="{readonly}"),
    Case("show", "--out below a file", ("show", "darts-v2", "--out", "{file}/cell.png"), "is a file, not a folder"),
    Case("show", "--out is a folder", ("show", "darts-v2", "--out", "{case}/cell.png"), "is a folder, not a file",
         files={"cell.png/kept.txt": ""}),
    Case("bench", "--out is a file", ("bench", "nasbench201", "--table", "{table}", "--budget", "5", "--runs", "1",
                                      "--out", "{file}"), "is a file, not a folder"),
    Case("report", "--out is a file", ("report", "{existing}", "--out", "{file}"), "is a file, not a folder"),
    Case("compare", "--results-dir is a file", ("compare", "--baselines", "resnet20", "--name", "x", "--data",
                                                "{data}", "--results-dir", "{file}"), "is a file, not a folder"),
]


def genotype_yaml(concat: str = "[2]") -> str:
    return ("normal:\n  blocks:\n  - [0, sep_conv_3x3, 1, skip_connect, add]\n  concat: " + concat + "\n"
            "reduce:\n  blocks:\n  - [0, max_pool_3x3, 1, max_pool_3x3, add]\n")


def darts(normal_concat: str = "[2]", extra: str = "") -> str:
    return (f"Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], normal_concat={normal_concat},{extra} "
            f"reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])\n")


CASES += [
    # --- genotype files (read the same way by show, profile, train, compare and transfer) -----------------------
    Case("show", "genotype YAML whose concat is a string", ("show", "{case}/cell.yaml"),
         "concat must be a list of node numbers", files={"cell.yaml": genotype_yaml("'2, 3'")}),
    Case("profile", "genotype YAML whose concat is a number", ("profile", "--genotype", "{case}/cell.yaml"),
         "concat must be a list of node numbers", files={"cell.yaml": genotype_yaml("2")}),
    Case("show", "a binary file as a genotype", ("show", "{case}/cell.yaml"), "is not a text file",
         files={"cell.yaml": bytes(range(256))}),
    Case("train", "a binary file as a genotype", ("train", "--genotype", "{case}/cell.yaml", "--data", "{data}",
                                                  "--out", "{case}/run"), "is not a text file",
         files={"cell.yaml": bytes(range(256))}),
    Case("show", "DARTS genotype with range(2, 999999999) as its concat", ("show", "{case}/cell.txt"),
         "names nodes the cell does not have", files={"cell.txt": darts("range(2, 999999999)")}),
    Case("show", "junk inside a DARTS genotype", ("show", "{case}/cell.txt"), "DARTS genotype: cannot parse",
         files={"cell.txt": darts(extra=" junk,")}),
    Case("show", "junk inside a DARTS list of pairs", ("show", "{case}/cell.txt"), "not only ('op', input) pairs",
         files={"cell.txt": darts().replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', 1), 'junk'")}),
    Case("compare", "a genotype with a node number of 5,000 digits", ("compare", "--cells", "{case}/cell.yaml",
                                                                      "--name", "x", "--data", "{data}"),
         "is not valid YAML", files={"cell.yaml": genotype_yaml("[" + "9" * 5000 + "]")}),
]


ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


def nasbench201_csv(valid: str = "71.5") -> str:
    columns = "arch,cifar10_valid_acc_12ep,cifar10_test_acc_200ep,params_M_cifar10,flops_M_cifar10"
    return f"{columns}\n{ARCH},{valid},90.1,0.5,50.0\n"


BENCH = ("bench", "nasbench201", "--budget", "1", "--runs", "1", "--table")
RAISES = "raise RuntimeError('half-written plugin')\n"

CASES += [
    # --- tables and modules that are not what they claim ------------------------------------------------------
    Case("bench", "NAS-Bench-201 table with a non-numeric accuracy", (*BENCH, "{case}/t.csv"),
         "column cifar10_valid_acc_12ep holds 'n/a' in row 1, not a number", files={"t.csv": nasbench201_csv("n/a")}),
    Case("bench", "NAS-Bench-201 table with an empty accuracy", (*BENCH, "{case}/t.csv"), "not a number",
         files={"t.csv": nasbench201_csv("")}),
    Case("search", "--import of a module that raises RuntimeError", (*SEARCH, "--import", "raising_plugin"),
         "it raised RuntimeError: half-written plugin", files={"raising_plugin.py": RAISES}),
    Case("ops", "NAS_IMPORT of a module that raises", ("ops",), "cannot import 'raising_env_plugin'",
         files={"raising_env_plugin.py": RAISES}, env={"NAS_IMPORT": "raising_env_plugin"}, prefix="nas: error: "),
]


CASES += [
    # --- values that used to be accepted silently -------------------------------------------------------------
    Case("profile", "--image-size 0", ("profile", "--genotype", "darts-v2", "--image-size", "0"),
         "argument --image-size: must be at least 1, got 0"),
    Case("profile", "--num-classes 0", ("profile", "--baseline", "resnet20", "--num-classes", "0"),
         "argument --num-classes: must be at least 1, got 0"),
    Case("profile", "--channels 0", ("profile", "--genotype", "darts-v2", "--channels", "0"), "must be at least 1"),
    Case("profile", "--cells not a number", ("profile", "--genotype", "darts-v2", "--cells", "many"),
         "expected a whole number, got 'many'"),
    Case("config YAML", "name: null", ("search", "--config", "{case}/c.yaml"), "config: name is empty (null)",
         files={"c.yaml": "name: null\n"}),
    Case("config YAML", "seed: null", ("search", "--config", "{case}/c.yaml"), "config: seed is empty (null)",
         files={"c.yaml": "seed: null\n"}),
    Case("train", "--out ''", (*TRAIN, "--out", ""), "argument --out: must name a folder or file, got ''"),
    Case("show", "--out ''", ("show", "darts-v2", "--out", ""), "must name a folder or file"),
    Case("compare", "--name ''", ("compare", "--baselines", "resnet20", "--name", "", "--data", "{data}"),
         "argument --name: must be a plain folder name, got ''"),
    Case("transfer", "--name with a path", ("transfer", "{existing}", "--name", "../elsewhere", "--data", "{data}"),
         "must be a plain folder name"),
    Case("data folder", "one class (search)", (*SEARCH, "--data", "{one_class}"),
         "has 1 class (class0): a classifier needs at least 2"),
    Case("data folder", "one class (nas train)", (*TRAIN, "--out", "{case}/run", "--data", "{one_class}"),
         "a classifier needs at least 2"),
]


CASES += [
    # --- flags: argparse's errors, one line each, named after the command ----------------------------------------
    Case("search", "an unknown flag", (*SEARCH, "--trails", "8"), "nas search: error: unrecognized arguments: --trails"),
    Case("train", "an unknown flag after the command", (*TRAIN, "--out", "{case}/run", "--epoks", "2"),
         "nas train: error: unrecognized arguments: --epoks 2"),
    Case("nas", "an unknown flag before the command", ("--verbose", "ops"), "unrecognized arguments: --verbose",
         prefix="nas: error: "),
    Case("bench", "a bad option of the last sampler to run", (*BENCH, "{table}", "--sampler", "all", "--option",
                                                                 "tpe.n_startup=3"), "no option 'n_startup'"),
    Case("data folder", "--subset larger than the training images", (*TRAIN, "--out", "{case}/run", "--subset",
                                                                      "5000"),
         "subset 5000 must be between 6 (two per class) and the 72 training images"),
]


# --- the workspace every case runs in ---------------------------------------------------------------------------

def write_nasbench201_table(path: Path, rows: int = 40) -> Path:
    """A small NAS-Bench-201 table: enough distinct cells for a budget of 5."""
    import pandas as pd

    from nas.space.nasbench201 import NasBench201Space

    space = NasBench201Space()
    archs = sorted({space.decode(space.sample(seed)) for seed in range(rows)})
    frame = pd.DataFrame({"arch": archs, "cifar10_valid_acc_12ep": 70.0, "cifar10_test_acc_200ep": 90.0,
                          "params_M_cifar10": 0.5, "flops_M_cifar10": 50.0})
    frame.to_csv(path, index=False)
    return path


def make_existing_experiment(workspace: Path, data: Path) -> Path:
    """An experiment folder as a search leaves it: experiment.yaml and two finished trials."""
    from nas.search.experiment_config import load_experiment_config
    from nas.search.experiment_folder import ExperimentPaths, write_experiment_file
    from nas.space import load_space
    from nas.train.recipe import load_recipe

    config_path = write_config(workspace / "existing.yaml", data, workspace / "results", name="existing")
    config = load_experiment_config(config_path)
    paths = ExperimentPaths(workspace / "results" / "existing")
    fake_experiment(paths.root, [(0.5, 1000), (0.6, 2000)])
    write_experiment_file(paths, config, load_space(config.space), load_recipe(config.recipe,
                                                                              config.recipe_overrides))
    return paths.root


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, image_folder):
    root = tmp_path_factory.mktemp("workspace")
    write_config(root / "config.yaml", image_folder, root / "results")
    existing = make_existing_experiment(root, image_folder)
    previous = root / "runs" / "previous"  # a finished `nas train` run
    previous.mkdir(parents=True)
    (previous / "metrics.json").write_text('{"status": "ok", "val_acc": 0.5}\n')
    (previous / "checkpoint.pt").write_bytes(b"weights")
    (root / "a-file").write_text("not a folder\n")
    (root / "readonly").mkdir()
    write_nasbench201_table(root / "nb201.csv")
    make_image_folder(root / "one-class", classes=1, per_class=4, test_per_class=1)
    load_dataset("imagefolder", image_folder, cache_dir=root / "cache", progress=False)  # cases that read the data
    return {"root": root, "config": root / "config.yaml", "existing_config": root / "existing.yaml",
            "existing": existing, "results": root / "results", "previous": previous, "file": root / "a-file",
            "readonly": root / "readonly", "table": root / "nb201.csv", "data": image_folder,
            "one_class": root / "one-class",
            "spaces": REPOSITORY / "search_spaces"}


def snapshot(*folders: Path) -> dict[str, str]:
    """Every file and folder under `folders`: its path and, for files, a hash of its bytes."""
    state = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
    return state


def deny_writes_below(monkeypatch, folder: Path) -> None:
    """The OS's answer for a read-only folder, as a user who is not root gets it (tests run as root here)."""
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and Path(path).resolve().is_relative_to(folder.resolve()):
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def forbid_ray_and_training(monkeypatch) -> None:
    """A case that gets as far as Ray or the trainer fails at once, instead of running a search."""
    import ray

    import nas.train

    def reached(*args, **kwargs):
        raise AssertionError("the bad input was not refused before Ray or training started")

    monkeypatch.setattr(ray, "init", reached)
    monkeypatch.setattr(nas.train, "train", reached)


def write_case_files(folder: Path, files: dict, places: dict) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.format(**places))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case, workspace, tmp_path, capsys, monkeypatch):
    places = {**workspace, "case": tmp_path}
    write_case_files(tmp_path, case.files, places)
    monkeypatch.chdir(workspace["root"])  # relative default outputs (results/, ...) land where they are watched
    monkeypatch.setenv("NAS_CACHE_DIR", str(workspace["root"] / "cache"))
    if case.read_only:
        deny_writes_below(monkeypatch, Path(case.read_only.format(**places)))
    forbid_ray_and_training(monkeypatch)
    monkeypatch.syspath_prepend(str(tmp_path))  # modules a case names in --import / NAS_IMPORT
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    before = snapshot(workspace["root"], tmp_path)

    code = main([part.format(**places) for part in case.argv])

    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.endswith("\n"), repr(err)
    assert err.startswith(case.prefix or f"nas {case.argv[0]}: error: ") and case.message in err, err
    assert snapshot(workspace["root"], tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders; the cases above simulate it")
def test_a_really_read_only_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert main(["show", "darts-v2", "--out", str(folder / "cell.png")]) == 2
    finally:
        folder.chmod(0o755)
    assert "(read-only)" in capsys.readouterr().err and not list(folder.iterdir())


def test_an_error_after_a_progress_bar_is_still_one_line(tmp_path, image_folder, capsys):
    """Decoding the images draws a bar where stderr is a terminal; the --subset error comes after it."""
    code = main(["train", "--baseline", "resnet20", "--data", str(image_folder), "--cache-dir", str(tmp_path / "c"),
                 "--subset", "5000", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "subset 5000" in err, repr(err)
