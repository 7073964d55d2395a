"""The bad-input catalogue: every user error the engine knows, one case each (README: "What the engine refuses").

Each case runs a command on a workspace holding a config, an image folder, an existing experiment and a previous
`nas train` output, and checks the engine's rule: exit code 2, exactly one line on stderr, no traceback, every
file that existed before byte-for-byte unchanged and nothing new anywhere (no experiment folder, no dataset
cache), and no Ray started: every case is refused before any training or Ray start, except a search's data
errors, found while its Ray starts (the data loads beside it): there the data's error is the one line.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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
    input: str  # what is wrong: the README table's second column (the first is `command`)
    argv: tuple[str, ...]  # {placeholders}: the workspace's places (see `workspace`) and {case}, the case's folder
    message: str  # a fragment of the one line, as the README table's third column quotes it
    files: dict = field(default_factory=dict)  # written into {case} first: str (formatted) or bytes
    read_only: str = ""  # a {placeholder} folder the OS reports read-only (os.access), as to a user not root
    env: dict = field(default_factory=dict)

    @property
    def command(self) -> str:
        """How the line starts: `nas <command>`, or `nas` for what is read before the command (NAS_IMPORT)."""
        before_command = self.argv[0].startswith("-") or "NAS_IMPORT" in self.env
        return "nas" if before_command else f"nas {self.argv[0]}"

    @property
    def id(self) -> str:
        return f"{self.command}: {self.input}"


def png_bytes(mode: str, size: int = 8) -> bytes:
    """A small PNG of PIL `mode` (L, RGB, I;16, ...)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, (size, size), 100 if mode != "RGB" else (100, 100, 100)).save(buffer, format="PNG")
    return buffer.getvalue()


def genotype_yaml(concat: str = "[2]") -> str:
    return ("normal:\n  blocks:\n  - [0, sep_conv_3x3, 1, skip_connect, add]\n  concat: " + concat + "\n"
            "reduce:\n  blocks:\n  - [0, max_pool_3x3, 1, max_pool_3x3, add]\n")


def darts(normal_concat: str = "[2]", extra: str = "") -> str:
    return (f"Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], normal_concat={normal_concat},{extra} "
            f"reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])\n")


ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


def nasbench201_csv(valid: str = "71.5", arch: str = ARCH) -> str:
    columns = "arch,cifar10_valid_acc_12ep,cifar10_test_acc_200ep,params_M_cifar10,flops_M_cifar10"
    return f"{columns}\n{arch},{valid},90.1,0.5,50.0\n"


def scores_csv(key: str = ARCH) -> str:
    return f"key,naswot,naswot_s\n{key},700.5,0.4\n"


def config_case(what: str, message: str, text: str) -> Case:
    """A search started from a config file holding `text` (formatted: braces doubled)."""
    return Case(f"config: {what}", ("search", "--config", "{case}/c.yaml"), message, files={"c.yaml": text})


SEARCH = ("search", "--config", "{config}")
RESUME = ("search", "--config", "{existing_config}", "--resume")
TRAIN = ("train", "--baseline", "resnet20", "--data", "{data}")
TRAIN_TO = (*TRAIN, "--out", "{case}/run")
COMPARE = ("compare", "--baselines", "resnet20", "--name", "x", "--data", "{data}")
SCORE = ("score", "--genotype", "darts-v2", "--data", "{data}")
BENCH = ("bench", "nasbench201", "--budget", "1", "--runs", "1", "--table")
SPACE = "name: s\nblocks: 2\nops: [sep_conv_3x3, skip_connect]\n"
RAISES = "raise RuntimeError('half-written plugin')\n"
TINY_TRAIN = ("--epochs", "1", "--batch-size", "16", "--channels", "4")

CASES = [
    # --- nas search (python run_search.py): flags ----------------------------------------------------------------
    Case("an unknown flag", (*SEARCH, "--trails", "8"), "unrecognized arguments: --trails 8"),
    Case("an unknown sampler", (*SEARCH, "--sampler", "annealing"), "unknown sampler 'annealing'"),
    Case("--trials 0", (*SEARCH, "--trials", "0"), "trials must be a whole number of at least 1, got 0"),
    Case("--val-size 0", (*SEARCH, "--val-size", "0"), "data.val_size must be a whole number of at least 1"),
    Case("--gpus-per-trial not a number", (*SEARCH, "--gpus-per-trial", "lots"), "expected a number or auto"),
    Case("--space that does not exist", (*SEARCH, "--space", "missing.yaml"), "space file 'missing.yaml' not found"),
    Case("an unknown recipe", (*SEARCH, "--recipe", "fastest"), "unknown recipe 'fastest'"),
    Case("--dataset unknown", (*SEARCH, "--dataset", "mnist"), "data.dataset must be one of"),
    Case("--name with a path", (*SEARCH, "--name", "a/b"), "experiment name 'a/b' must be a plain folder name"),
    Case("--config that does not exist", ("search", "--config", "{case}/none.yaml"), "cannot read config file"),
    Case("--import of a module that does not exist", (*SEARCH, "--import", "no_such_module_anywhere"),
         "cannot import 'no_such_module_anywhere' listed in imports: No module named"),
    Case("--import of a module that raises RuntimeError", (*SEARCH, "--import", "raising_plugin"),
         "it raised RuntimeError: half-written plugin", files={"raising_plugin.py": RAISES}),
    Case("a space answered from a table", (*SEARCH, "--space", "{spaces}/nasbench201.yaml"),
         "is answered from a table, not trained"),
    # --- nas search: the experiment folder, resume ------------------------------------------------------------
    Case("--resume of an experiment that does not exist", (*SEARCH, "--resume", "--name", "never"),
         "cannot resume: no experiment 'never'"),
    Case("a new search under an existing experiment's name", ("search", "--config", "{existing_config}"),
         "experiment 'existing' already exists"),
    Case("--resume with another seed", (*RESUME, "--seed", "5"), "cannot resume 'existing' with seed = 5"),
    Case("--resume with another space", (*RESUME, "--space", "{spaces}/nasnet.yaml"),
         "it was made from another search space"),
    Case("--resume with another recipe", (*RESUME, "--recipe", "full"), "with another training recipe"),
    Case("--resume of a read-only experiment", RESUME, "is read-only", read_only="{existing}"),
    Case("--results-dir is a file", (*SEARCH, "--results-dir", "{file}"), "is a file, not a folder"),
    Case("--results-dir below a file", (*SEARCH, "--results-dir", "{file}/results"), "is a file, not a folder"),
    Case("--results-dir read-only", (*SEARCH, "--results-dir", "{readonly}/results"), "is read-only",
         read_only="{readonly}"),
    Case("--storage (Ray's) is a file", (*SEARCH, "--storage", "{file}"), "is a file, not a folder"),
    Case("--optuna-storage not a URL", (*SEARCH, "--optuna-storage", "notaurl"),
         "sampler 'random': option storage 'notaurl' is not a database URL"),
    Case("--optuna-storage of an unknown database kind", (*SEARCH, "--optuna-storage", "nosuchdb://host/x"),
         "Can't load plugin: sqlalchemy.dialects:nosuchdb"),
    Case("--optuna-storage SQLite file below a file", (*SEARCH, "--optuna-storage", "sqlite:///{file}/o.db"),
         "is a file, not a folder"),
    # --- config YAML (nas search --config) --------------------------------------------------------------------
    config_case("name: null", "config: name is empty (null)", "name: null\n"),
    config_case("seed: null", "config: seed is empty (null)", "seed: null\n"),
    config_case("an unknown key", "config: unknown key 'epochz'", "epochz: 3\n"),
    config_case("not a mapping", "must be a YAML mapping", "- a\n- b\n"),
    config_case("broken YAML", "is not valid YAML at line 2", "name: [x\n"),
    config_case("a section that is not a mapping", "config: 'resources' must be a mapping", "resources: 4\n"),
    config_case("model.channels (a recipe key)", "model.channels and model.cells are recipe keys",
                "model: {{channels: 8}}\n"),
    config_case("an unknown recipe override", "recipe override: unknown key 'epochz'",
                "space: tiny.yaml\nrecipe_overrides: {{epochz: 1}}\n"),
    config_case("text where a recipe number goes", "recipe key 'lr' must be float, got 'fast'",
                "space: tiny.yaml\nrecipe_overrides: {{lr: fast}}\n"),
    config_case("an unknown stack", "unknown network stack 'pyramid'", "space: tiny.yaml\nmodel: {{stack: pyramid}}\n"),
    config_case("an unknown sampler option", "sampler 'evolution' has no option 'population_sise'",
                "space: tiny.yaml\nsampler: evolution\nsampler_options: {{population_sise: 5}}\n"),
    config_case("an unknown nsga2 cost", "sampler 'nsga2': option cost='latency' is not one of params, macs",
                "space: tiny.yaml\nsampler: nsga2\nsampler_options: {{cost: latency}}\n"),
    config_case("an unknown nsga2 cost in the deprecated objective.cost", "option cost='latency' is not one of",
                "space: tiny.yaml\nsampler: nsga2\nobjective: {{cost: latency}}\n"),
    config_case("ASHA reduction_factor 1", "early_stopping.reduction_factor must be a whole number of at least 2",
                "early_stopping: {{reduction_factor: 1}}\n"),
    config_case("no CPUs and no GPUs per trial", "a trial needs some CPUs or GPUs",
                "resources: {{cpus_per_trial: 0}}\n"),
    config_case("an unknown zero-cost proxy", "zero_cost: unknown zero-cost proxy 'synflaw'",
                "space: tiny.yaml\nzero_cost: {{proxy: synflaw}}\n"),
    config_case("an unknown proxy in a vote", "zero_cost: unknown zero-cost proxy 'nasbot'",
                "space: tiny.yaml\nzero_cost: {{vote_members: [nasbot, synflow]}}\n"),
    config_case("a vote of one proxy", "a vote needs at least 2 proxies", "zero_cost: {{vote_members: [naswot]}}\n"),
    config_case("an unknown zero_cost key", "config zero_cost: unknown key 'screens'", "zero_cost: {{screens: 4}}\n"),
    config_case("zero_cost screen 0", "zero_cost.screen must be a whole number of at least 1, got 0",
                "zero_cost: {{screen: 0}}\n"),
    config_case("zero_cost warm_start_pool not a number", "zero_cost.warm_start_pool must be a whole number",
                "zero_cost: {{warm_start_pool: lots}}\n"),
    config_case("zero_cost warm_start_count without a pool", "zero_cost.warm_start_count is set but warm_start_pool "
                "is 0", "zero_cost: {{warm_start_count: 5}}\n"),
    # --- space YAML (nas space, and a search's space) ---------------------------------------------------------
    Case("space: an unknown op", ("space", "{case}/s.yaml"), "unknown op(s) warp_conv",
         files={"s.yaml": SPACE.replace("skip_connect", "warp_conv")}),
    Case("space: blocks: 0", ("space", "{case}/s.yaml"), "'blocks' must be a whole number of at least 1",
         files={"s.yaml": SPACE.replace("blocks: 2", "blocks: 0")}),
    Case("space: an unknown key", ("space", "{case}/s.yaml"), "unknown key(s) opz",
         files={"s.yaml": SPACE + "opz: [a]\n"}),
    Case("space: an unknown space type", ("space", "{case}/s.yaml"), "unknown space type 'chain'",
         files={"s.yaml": SPACE + "type: chain\n"}),
    Case("space: an op listed twice", ("space", "{case}/s.yaml"), "'ops' lists an op twice",
         files={"s.yaml": SPACE.replace("skip_connect]", "skip_connect, skip_connect]")}),
    Case("space: broken YAML", (*SEARCH, "--space", "{case}/s.yaml"), "is not valid YAML",
         files={"s.yaml": "blocks: [2\n"}),
    # --- nas train ---------------------------------------------------------------------------------------------
    Case("an unknown flag after the command", (*TRAIN_TO, "--epoks", "2"), "unrecognized arguments: --epoks 2"),
    Case("a flag's prefix (--lr for --lr-backbone)", (*TRAIN_TO, "--lr", "0.1"), "unrecognized arguments: --lr 0.1"),
    Case("an unknown baseline", ("train", "--baseline", "resnet57", "--data", "{data}", "--out", "{case}/run"),
         "unknown baseline 'resnet57'"),
    Case("an unknown cell", ("train", "--genotype", "darts-v9", "--data", "{data}", "--out", "{case}/run"),
         "no genotype file or published cell named 'darts-v9'"),
    Case("a NAS-Bench-201 network of --depth 10", ("train", "--genotype", ARCH, "--depth", "10", "--data", "{data}",
                                                    "--out", "{case}/run"), "got 10: try 8 or 11"),
    Case("--init that does not exist", (*TRAIN_TO, "--init", "{case}/none.pt"), "no such checkpoint file"),
    Case("--epochs 0", (*TRAIN_TO, "--epochs", "0"), "epochs must be at least 1"),
    Case("an unknown device", (*TRAIN_TO, "--device", "tpu"), "unknown device 'tpu'"),
    Case("a recipe file with an unknown key", (*TRAIN_TO, "--recipe", "{case}/r.yaml"),
         "unknown key 'learning_rate'", files={"r.yaml": "learning_rate: 0.1\n"}),
    Case("--out ''", (*TRAIN, "--out", ""), "argument --out: must name a folder or file, got ''"),
    Case("--out is a file", (*TRAIN, "--out", "{file}"), "is a file, not a folder"),
    Case("--out read-only", (*TRAIN, "--out", "{readonly}/run"), "is read-only", read_only="{readonly}"),
    Case("--out holds a run", (*TRAIN, "--out", "{previous}"), "already holds a run (checkpoint.pt)"),
    Case("--out holds a diverged run (metrics.json only)", (*TRAIN, "--out", "{case}/diverged"),
         "already holds a run (metrics.json)", files={"diverged/metrics.json": '{{"status": "diverged"}}\n'}),
    # --- data folders ------------------------------------------------------------------------------------------
    Case("data: a folder that does not exist", (*TRAIN_TO, "--data", "{case}/nowhere", "--dataset", "imagefolder"),
         "does not exist"),
    Case("data: no train/ folder", (*TRAIN_TO, "--data", "{case}/d", "--dataset", "imagefolder"),
         "is not an image-folder tree", files={"d/readme.txt": "no images\n"}),
    Case("data: loose images, no class folders", (*TRAIN_TO, "--data", "{case}/d"), "has no class folders",
         files={"d/train/a.png": b"not really a png"}),
    Case("data: an empty class folder", (*TRAIN_TO, "--data", "{case}/d"), "has no images",
         files={"d/train/cat/notes.txt": "", "d/train/dog/notes.txt": ""}),
    Case("data: one class", (*TRAIN_TO, "--data", "{one_class}"),
         "has 1 class (class0): a classifier needs at least 2"),
    Case("data: one class", (*SEARCH, "--data", "{one_class}"), "a classifier needs at least 2"),
    Case("data: --val-size negative", (*TRAIN_TO, "--val-size", "-1"),
         "validation size -1 must be from 0 up to one less than the 72 training images"),
    Case("data: --subset larger than the training images", (*TRAIN_TO, "--subset", "5000"),
         "subset 5000 must be between 6 (two per class) and the 72 training images"),
    Case("data: --test-subset larger than the test images", (*TRAIN_TO, "--eval-test", "--test-subset", "500"),
         "test subset 500 must be between 6 (two per class) and the 12 test images"),
    Case("data: --test-subset without --eval-test", (*TRAIN_TO, "--test-subset", "6"),
         "--test-subset needs --eval-test: without it nothing is tested"),
    Case("data: no test split", (*COMPARE, "--data", "{one_split}", *TINY_TRAIN), "has no test split"),
    Case("data: as many greyscale as colour images", (*TRAIN_TO, "--data", "{case}/d"),
         "holds as many greyscale as colour images (1 each",
         files={"d/train/cat/0.png": png_bytes("L"), "d/train/dog/0.png": png_bytes("RGB")}),
    Case("data: 16-bit (or 32-bit/float) images", (*TRAIN_TO, "--data", "{case}/d"),
         "image of PIL mode I;16", files={"d/train/cat/0.png": png_bytes("RGB"), "d/train/cat/1.png": png_bytes("RGB"),
                                          "d/train/dog/0.png": png_bytes("I;16")}),
    # --- genotype files: read alike by show, profile, train, compare and transfer ------------------------------
    Case("genotype: concat is a string", ("show", "{case}/cell.yaml"), "concat must be a list of node numbers",
         files={"cell.yaml": genotype_yaml("'2, 3'")}),
    Case("genotype: concat is a number", ("profile", "--genotype", "{case}/cell.yaml"),
         "concat must be a list of node numbers", files={"cell.yaml": genotype_yaml("2")}),
    Case("genotype: a binary file", ("show", "{case}/cell.yaml"), "is not a text file",
         files={"cell.yaml": bytes(range(256))}),
    Case("genotype: a binary file", ("train", "--genotype", "{case}/cell.yaml", "--data", "{data}", "--out",
                                     "{case}/run"), "is not a text file", files={"cell.yaml": bytes(range(256))}),
    Case("genotype: DARTS concat range(2, 999999999)", ("show", "{case}/cell.txt"),
         "names nodes the cell does not have (0..2)", files={"cell.txt": darts("range(2, 999999999)")}),
    Case("genotype: junk inside a DARTS genotype", ("show", "{case}/cell.txt"), "DARTS genotype: cannot parse",
         files={"cell.txt": darts(extra=" junk,")}),
    Case("genotype: junk inside a DARTS list", ("show", "{case}/cell.txt"), "not only ('op', input) pairs",
         files={"cell.txt": darts().replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', 1), 'junk'")}),
    Case("genotype: a node number of 5,000 digits", (*COMPARE[:1], "--cells", "{case}/cell.yaml", *COMPARE[3:]),
         "is not valid YAML: Exceeds the limit (4300 digits)",
         files={"cell.yaml": genotype_yaml("[" + "9" * 5000 + "]")}),
    Case("genotype: an unknown op", ("show", "{case}/cell.yaml"), "unknown op 'warp_conv_3x3'",
         files={"cell.yaml": genotype_yaml().replace("skip_connect", "warp_conv_3x3")}),
    Case("genotype: a block reading a later node", ("show", "{case}/cell.yaml"), "input_b reads node 3",
         files={"cell.yaml": genotype_yaml().replace("[0, sep_conv_3x3, 1,", "[0, sep_conv_3x3, 3,")}),
    Case("genotype: no reduce cell", ("show", "{case}/cell.yaml"), "genotype has no reduce cell",
         files={"cell.yaml": genotype_yaml().split("reduce:")[0]}),
    # --- nas show ------------------------------------------------------------------------------------------------
    Case("an unknown published cell", ("show", "no-such-cell"), "no genotype file or published cell"),
    Case("--out of an unknown format", ("show", "darts-v2", "--out", "{case}/cell.gif"),
         "the file name must end in .png, .svg, .pdf"),
    Case("--out ''", ("show", "darts-v2", "--out", ""), "argument --out: must name a folder or file"),
    Case("--out below a file", ("show", "darts-v2", "--out", "{file}/cell.png"), "is a file, not a folder"),
    Case("--out is a folder", ("show", "darts-v2", "--out", "{case}/cell.png"), "is a folder, not a file",
         files={"cell.png/kept.txt": ""}),
    Case("--out in a read-only folder", ("show", "darts-v2", "--out", "{readonly}/cell.png"), "is read-only",
         read_only="{readonly}"),
    Case("--out with a NAS-Bench-201 string", ("show", ARCH, "--out", "{case}/cell.png"),
         "a NAS-Bench-201 cell is shown as text only"),
    # --- nas profile ---------------------------------------------------------------------------------------------
    Case("--image-size 0", ("profile", "--genotype", "darts-v2", "--image-size", "0"),
         "argument --image-size: must be at least 1, got 0"),
    Case("--num-classes 0", ("profile", "--baseline", "resnet20", "--num-classes", "0"),
         "argument --num-classes: must be at least 1, got 0"),
    Case("--channels 0", ("profile", "--genotype", "darts-v2", "--channels", "0"), "must be at least 1, got 0"),
    Case("--depth not a number", ("profile", "--genotype", "darts-v2", "--depth", "many"),
         "expected a whole number, got 'many'"),
    Case("an unknown baseline", ("profile", "--baseline", "resnet57"), "unknown baseline 'resnet57'"),
    Case("an unknown stack", ("profile", "--genotype", "darts-v2", "--stack", "mobile"),
         "unknown network stack 'mobile'"),
    Case("grouped convolutions on indivisible channels", ("profile", "--genotype", "{case}/g.yaml", "--channels",
                                                          "18", "--depth", "3"), "C=18 is not a multiple of 4",
         files={"g.yaml": "normal: 'add(group_conv_3x3@0, skip_connect@1)'\n"
                          "reduce: 'add(max_pool_3x3@0, conv_3x3@1)'\n"}),
    Case("grouped convolutions in a NASNet stem cell", ("profile", "--genotype", "{case}/g.yaml", "--stack",
                                                         "nasnet-mobile", "--channels", "20", "--depth", "3"),
         "in the NASNet stem, whose reduction cells work at C//4 = 5 and C//2 = 10 of --channels 20",
         files={"g.yaml": "normal: 'add(conv_3x3@0, skip_connect@1)'\n"
                          "reduce: 'add(group_conv_3x3@0, conv_3x3@1)'\n"}),
    Case("an image too small for the network", ("profile", "--baseline", "vgg16", "--image-size", "8"),
         "vgg16 needs inputs of at least 32 px, got 8"),
    Case("a malformed NAS-Bench-201 string", ("profile", "--genotype", "|nor_conv_3x3~0|+|none~0|"),
         "expected 3 nodes joined by '+', got 2"),
    Case("--stack with a NAS-Bench-201 string", ("profile", "--genotype", ARCH, "--stack", "cifar"),
         "a NAS-Bench-201 string builds the benchmark's own network"),
    # --- nas score -----------------------------------------------------------------------------------------------
    Case("an unknown proxy", (*SCORE, "--proxies", "synflow,synflaw"), "unknown zero-cost proxy 'synflaw'"),
    Case("an unknown cell", ("score", "--genotype", "darts-v9", "--data", "{data}"),
         "no genotype file or published cell named 'darts-v9'"),
    Case("an unknown baseline", ("score", "--baseline", "resnet57", "--data", "{data}"), "unknown baseline 'resnet57'"),
    Case("--sample without --space", ("score", "--sample", "3", "--data", "{data}"),
         "--space FILE and --sample N go together"),
    Case("--batch-size larger than the training split", (*SCORE, "--batch-size", "500"),
         "the proxy batch of 500 images (--batch-size, or zero_cost.batch_size in a search) is larger than the 65 "
         "training images"),
    Case("a baseline the images are too small for", ("score", "--baseline", "vgg16", "--data", "{data}"),
         "vgg16 needs inputs of at least 32 px, got 16"),
    Case("--out is a folder", (*SCORE, "--out", "{case}"), "is a folder, not a file"),
    Case("--out in a read-only folder", (*SCORE, "--out", "{readonly}/scores.csv"), "is read-only",
         read_only="{readonly}"),
    # --- nas bench: NAS-Bench-201 tables and sampler options -------------------------------------------------
    Case("a table that does not exist", (*BENCH, "{case}/none.csv"), "does not exist"),
    Case("a table without the dataset's columns", (*BENCH, "{table}", "--dataset", "cifar100"),
         "lacks column(s) cifar100_valid_acc_12ep"),
    Case("a table with a non-numeric accuracy", (*BENCH, "{case}/t.csv"),
         "column cifar10_valid_acc_12ep holds 'n/a' in row 1, not a number", files={"t.csv": nasbench201_csv("n/a")}),
    Case("a table with an empty accuracy", (*BENCH, "{case}/t.csv"), "holds '' in row 1, not a number",
         files={"t.csv": nasbench201_csv("")}),
    Case("a table of another space's cells", (*BENCH, "{case}/t.csv"), "unknown op 'sep_conv_3x3'",
         files={"t.csv": nasbench201_csv(arch=ARCH.replace("nor_conv_3x3~1", "sep_conv_3x3~1"))}),
    Case("--budget 0", (*BENCH, "{table}", "--budget", "0"), "--budget must be at least 1 cell"),
    Case("--budget beyond the table", ("bench", "nasbench201", "--table", "{table}", "--budget", "999"),
         "budget 999 exceeds the 40 cells in the table"),
    Case("an unknown sampler", (*BENCH, "{table}", "--sampler", "bogus"), "unknown sampler 'bogus'"),
    Case("--option without =", (*BENCH, "{table}", "--option", "population_size"), "should read KEY=VALUE"),
    Case("a bad option of the last sampler run", (*BENCH, "{table}", "--sampler", "all", "--option",
                                                  "tpe.n_startup=3"), "sampler 'tpe' has no option 'n_startup'"),
    Case("--out is a file", (*BENCH, "{table}", "--out", "{file}"), "is a file, not a folder"),
    Case("--scores a file that does not exist", (*BENCH, "{table}", "--scores", "{case}/none.csv"),
         "none.csv' does not exist"),
    Case("--proxy that is no zero-cost proxy", (*BENCH, "{table}", "--scores", "{case}/s.csv", "--proxy", "bogus"),
         "unknown zero-cost proxy 'bogus'", files={"s.csv": scores_csv()}),
    Case("--proxy the scores table has no column for", (*BENCH, "{table}", "--scores", "{case}/s.csv", "--proxy",
                                                       "zico"), "has no column 'zico' (it holds naswot)",
         files={"s.csv": scores_csv()}),
    Case("a scores table of another space", (*BENCH, "{table}", "--scores", "{case}/s.csv"),
         "is not for the nasbench201 space: row 1 key", files={"s.csv": scores_csv(key="x")}),
    Case("--screen without --scores", (*BENCH, "{table}", "--screen", "5"), "--screen guides a search by a proxy"),
    # --- nas transfer, nas compare, nas report ----------------------------------------------------------------
    Case("--top beyond the finished trials", ("transfer", "{existing}", "--top", "9", "--data", "{data}"),
         "--top 9 asks for more cells than the 2 finished trials"),
    Case("a folder that is not a search", ("transfer", "{case}", "--data", "{data}"), "has no trials.csv"),
    Case("--name with a path", ("transfer", "{existing}", "--name", "../elsewhere", "--data", "{data}"),
         "argument --name: must be a plain folder name"),
    Case("nothing to compare", ("compare", "--name", "x", "--data", "{data}"), "nothing to compare"),
    Case("an unknown baseline", ("compare", "--baselines", "resnet57", "--name", "x", "--data", "{data}"),
         "unknown baseline 'resnet57'"),
    Case("--seeds 0", (*COMPARE, "--seeds", "0"), "--seeds and --workers must be at least 1"),
    Case("two different cells with one name", ("compare", "--cells", "{case}/a.yaml,{case}/b.yaml", "--name", "x",
                                                "--data", "{data}"), "are different networks both named 'mine'",
         files={"a.yaml": "name: mine\n" + genotype_yaml(),
                "b.yaml": "name: mine\n" + genotype_yaml().replace("skip_connect", "max_pool_3x3")}),
    Case("--name ''", ("compare", "--baselines", "resnet20", "--name", "", "--data", "{data}"),
         "argument --name: must be a plain folder name, got ''"),
    Case("--results-dir is a file", (*COMPARE, "--results-dir", "{file}"), "is a file, not a folder"),
    Case("a comparison started with another recipe", (*COMPARE[:4], "earlier", *COMPARE[5:], "--results-dir",
                                                      "{results}"), "was started with another recipe"),
    Case("a folder that is neither a search nor a comparison", ("report", "{case}"), "is neither a search"),
    Case("--top 0", ("report", "{existing}", "--top", "0"), "--top must be at least 1"),
    Case("--out is a file", ("report", "{existing}", "--out", "{file}"), "is a file, not a folder"),
    # --- numbers, seeds, keys given twice, results edited by hand ---------------------------------------------
    Case("--seed beyond 2**32 - 1", (*SEARCH, "--seed", "99999999999999999999"),
         "argument --seed: a seed must be between 0 and 2**32 - 1 (4294967295), got 99999999999999999999"),
    config_case("seed beyond 2**32 - 1", "seed must be between 0 and 2**32 - 1 (4294967295), got 4294967296",
                "seed: 4294967296\n"),
    Case("--time-budget nan", (*SEARCH, "--time-budget", "nan"),
         "time_budget_s must be a positive number of seconds (or .inf for none), got nan"),
    Case("--cpus-per-trial nan", (*SEARCH, "--cpus-per-trial", "nan"),
         "resources.cpus_per_trial must be a number of at least 0, got nan"),
    config_case("a key given twice", "is not valid YAML at line 2, column 1: found duplicate key 'trials'",
                "trials: 3\ntrials: 4\n"),
    config_case("a number where a path goes", "config: data.root must be text (a name, path or URL), got 5",
                "data: {{root: 5}}\n"),
    Case("space: a key given twice", ("space", "{case}/s.yaml"), "found duplicate key 'blocks'",
         files={"s.yaml": SPACE + "blocks: 3\n"}),
    Case("genotype: a key given twice", ("show", "{case}/cell.yaml"), "found duplicate key 'normal'",
         files={"cell.yaml": "normal:\n  blocks: []\n" + genotype_yaml()}),
    Case("--seed negative", (*TRAIN_TO, "--seed", "-1"), "argument --seed: a seed must be between 0 and 2**32 - 1"),
    Case("a recipe file with lr: .inf", (*TRAIN_TO, "--recipe", "{case}/r.yaml"),
         "recipe key 'lr' must be a finite number, got inf", files={"r.yaml": "lr: .inf\n"}),
    Case("a recipe file with a key given twice", (*TRAIN_TO, "--recipe", "{case}/r.yaml"),
         "is not valid YAML at line 2, column 1: found duplicate key 'lr'", files={"r.yaml": "lr: 0.1\nlr: 0.2\n"}),
    Case("--init a file that is not a checkpoint", (*TRAIN_TO, "--init", "{case}/w.pt"),
         "cannot read checkpoint", files={"w.pt": "junk\n"}),
    Case("--seed whose runs pass 2**32 - 1", (*BENCH, "{table}", "--runs", "2", "--seed", "4294967295"),
         "--seed 4294967295 with --runs 2 would use seeds past 2**32 - 1"),
    Case("--cpus-per-trial negative", (*COMPARE, "--cpus-per-trial", "-1"),
         "--cpus-per-trial must be a number of at least 0, got -1.0"),
    Case("--gpus-per-trial nan", (*COMPARE, "--gpus-per-trial", "nan"),
         "--gpus-per-trial must be a number of at least 0, got nan"),
    Case("an empty (0-byte) trials.csv", ("report", "{case}/exp"), "trials.csv is empty (not even its header row)",
         files={"exp/trials.csv": ""}),
    Case("trials.csv edited by hand (n/a in a number column)", ("report", "{case}/exp"),
         "trials.csv: row 1, column val_acc holds 'n/a', not a number",
         files={"exp/trials.csv": "trial_id,token,sampler,genotype,hash,choices,status,val_acc\n"
                                  "t0,0,random,g,h,[],ok,n/a\n"}),
    # --- every command -------------------------------------------------------------------------------------------
    Case("an unknown flag before the command", ("--verbose", "ops"), "unrecognized arguments: --verbose"),
    Case("NAS_IMPORT of a module that raises", ("ops",), "cannot import 'raising_env_plugin' listed in NAS_IMPORT",
         files={"raising_env_plugin.py": RAISES}, env={"NAS_IMPORT": "raising_env_plugin"}),
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
    (root / "results" / "compare" / "earlier").mkdir(parents=True)  # a comparison run before, with its recipe
    (root / "results" / "compare" / "earlier" / "campaign.yaml").write_text("recipe: {name: full, epochs: 600}\n")
    (root / "readonly").mkdir()
    write_nasbench201_table(root / "nb201.csv")
    make_image_folder(root / "one-class", classes=1, per_class=4, test_per_class=1)
    shutil.copytree(image_folder / "train", root / "train-only" / "train")
    for folder in (image_folder, root / "train-only"):  # cases that read the data find every image decoded
        dataset = load_dataset("imagefolder", folder, cache_dir=root / "cache", progress=False)
        for images in (dataset.train, dataset.test):
            if images is not None:
                images.decoded()
    return {"root": root, "config": root / "config.yaml", "existing_config": root / "existing.yaml",
            "existing": existing, "results": root / "results", "previous": previous, "file": root / "a-file",
            "readonly": root / "readonly", "table": root / "nb201.csv", "data": image_folder,
            "one_class": root / "one-class", "one_split": root / "train-only",
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
    assert err.startswith(f"{case.command}: error: ") and case.message in err, err
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
    assert "is read-only" in capsys.readouterr().err and not list(folder.iterdir())


def test_a_read_only_database_in_an_experiment_to_resume_is_refused(tmp_path, monkeypatch):
    from nas.atomic_files import check_writable_folder
    from nas.errors import ConfigError

    (tmp_path / "optuna.db").write_bytes(b"SQLite")  # updated in place, unlike the files written by renaming
    deny_writes_below(monkeypatch, tmp_path / "optuna.db")
    check_writable_folder(tmp_path, "experiment folder")
    with pytest.raises(ConfigError, match="optuna.db is read-only"):
        check_writable_folder(tmp_path, "experiment folder", files_too=True)


def test_an_error_after_a_progress_bar_is_still_one_line(tmp_path, image_folder, capsys):
    """Decoding the images draws a bar where stderr is a terminal; the --subset error comes after it."""
    code = main(["train", "--baseline", "resnet20", "--data", str(image_folder), "--cache-dir", str(tmp_path / "c"),
                 "--subset", "5000", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "subset 5000" in err, repr(err)


def test_run_search_py_refuses_in_one_line_as_a_process(workspace):
    """The entry point as users run it: a real process, stderr a pipe, nothing written."""
    import subprocess
    import sys

    before = snapshot(workspace["root"])
    finished = subprocess.run([sys.executable, str(REPOSITORY / "run_search.py"), "--config", str(workspace["config"]),
                               "--results-dir", str(workspace["file"])], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    assert finished.returncode == 2
    assert finished.stderr.startswith("nas search: error: ") and len(finished.stderr.splitlines()) == 1
    assert "is a file, not a folder" in finished.stderr
    assert snapshot(workspace["root"]) == before


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has the GPU the case asks for")
def test_a_gpu_the_machine_lacks_is_refused_before_the_data_is_read(workspace, tmp_path, capsys, monkeypatch):
    forbid_ray_and_training(monkeypatch)
    code = main(["train", "--baseline", "resnet20", "--data", str(tmp_path / "never-read"), "--device", "cuda",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err == "nas train: error: device 'cuda' asked for, but torch sees no CUDA device here\n"


def readme_catalogue() -> list[list[str]]:
    """The rows of the README's catalogue table: command, input, message (markup taken out)."""
    import html

    section = README.read_text().split(CATALOGUE_HEADING, 1)[1].split("\n## ", 1)[0]
    table = section.split("| command | input | message |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip().strip("|").split(" | ") for line in table.strip().splitlines()[1:]]
    return [[html.unescape(cell.strip().replace("`", "")) for cell in row] for row in rows]


def test_the_readme_catalogue_lists_every_case_and_no_other():
    rows = readme_catalogue()
    assert [(command, what) for command, what, _ in rows] == [(case.command, case.input) for case in CASES]
    for (command, what, message), case in zip(rows, CASES):
        assert case.message in message, (case.id, message)


# --- refused or stopped cleanly, but not before training (dedicated tests; the README says so in prose) ----------

def _trials_csv(experiment: Path, rows: str) -> None:
    (experiment / "trials.csv").write_text(rows)


def test_a_report_on_an_empty_trials_csv_is_one_line(workspace, tmp_path, capsys):
    experiment = tmp_path / "exp"
    shutil.copytree(workspace["existing"], experiment)
    _trials_csv(experiment, "")  # 0 bytes: pandas' EmptyDataError
    before = snapshot(tmp_path)
    code = main(["report", str(experiment), "--out", str(tmp_path / "report")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("nas report: error: ") and "trials.csv is empty" in err, err
    assert snapshot(tmp_path) == before


def resume_error_after_editing(workspace, tmp_path, capsys, monkeypatch, edit) -> str:
    """The one line a resume of a copy of the experiment prints after `edit(folder)`, refused (exit 2) before the
    data is loaded or Ray starts (the catalogue's rule), with nothing written."""
    results = tmp_path / "results"
    shutil.copytree(workspace["existing"], results / "existing")
    edit(results / "existing")
    forbid_ray_and_training(monkeypatch)
    monkeypatch.setattr("nas.data.load_dataset", lambda *a, **k: pytest.fail("the data was loaded"))
    before = snapshot(tmp_path)
    code = main([*RESUME[:2], str(workspace["existing_config"]), "--resume", "--results-dir", str(results)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert snapshot(tmp_path) == before
    return err


def test_a_resume_after_trials_csv_was_edited_names_the_file_row_and_column(workspace, tmp_path, capsys,
                                                                           monkeypatch):
    def edit(folder):
        rows = (folder / "trials.csv").read_text().splitlines()
        rows[2] = rows[2].replace(",0.6,", ",n/a,")  # val_acc of the second trial, as a spreadsheet writes "no value"
        (folder / "trials.csv").write_text("\n".join(rows) + "\n")

    err = resume_error_after_editing(workspace, tmp_path, capsys, monkeypatch, edit)
    table = tmp_path / "results" / "existing" / "trials.csv"
    assert f"{table}: row 2, column val_acc holds 'n/a', not a number" in err, err


def test_a_resume_after_search_timing_json_was_garbled_names_the_file(workspace, tmp_path, capsys, monkeypatch):
    """The resume would append its run to the record."""
    def edit(folder):  # cut short
        (folder / "search_timing.json").write_text('{"runs": [{"command_started": "2026-01-01T00:00:00.000+00:00"')

    err = resume_error_after_editing(workspace, tmp_path, capsys, monkeypatch, edit)
    assert f"{tmp_path / 'results' / 'existing' / 'search_timing.json'} is not a search's timing record" in err, err


@pytest.mark.parametrize("edit, message", [
    (lambda rows: rows[:1] + [rows[1].replace(",ok,", ",finished,")] + rows[2:], "row 1: status 'finished'"),
    (lambda rows: [rows[0].replace("trial_id,", "")] + rows[1:], "lacks column(s) trial_id"),
    (lambda rows: rows[:1] + [rows[1].replace(",[],", ",[oops,", 1)] + rows[2:], "column choices holds '[oops'"),
])
def test_a_hand_edited_trials_csv_is_one_line_naming_the_file(workspace, tmp_path, capsys, edit, message):
    experiment = tmp_path / "exp"
    shutil.copytree(workspace["existing"], experiment)
    rows = (experiment / "trials.csv").read_text().splitlines()
    _trials_csv(experiment, "\n".join(edit(rows)) + "\n")
    code = main(["report", str(experiment), "--out", str(tmp_path / "report")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and str(experiment / "trials.csv") in err and message in err, err


def _train_argv(workspace, out: Path, *more: str) -> list[str]:
    return [*TRAIN[:3], "--data", str(workspace["data"]), "--out", str(out), *TINY_TRAIN[:4], "--no-progress",
            *more]


def test_a_disk_too_small_for_the_checkpoint_is_refused_before_training(workspace, tmp_path, capsys, monkeypatch):
    import shutil as shutil_module

    monkeypatch.setenv("NAS_CACHE_DIR", str(workspace["root"] / "cache"))
    usage = shutil_module.disk_usage(tmp_path)
    monkeypatch.setattr(shutil_module, "disk_usage", lambda path: usage._replace(free=100_000))
    forbid_ray_and_training(monkeypatch)
    code = main(_train_argv(workspace, tmp_path / "run"))
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "the disk has 100.0 KB free, and the checkpoints need about" in err, err
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_that_cannot_be_written_keeps_the_metrics_in_one_line(workspace, tmp_path, capsys, monkeypatch):
    """A full disk at the end of training (torch.save raises ENOSPC): metrics.json is kept, one line, exit 2."""
    import errno
    import json

    import torch

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setenv("NAS_CACHE_DIR", str(workspace["root"] / "cache"))
    monkeypatch.setattr(torch, "save", full_disk)
    out = tmp_path / "run"
    code = main(_train_argv(workspace, out))
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("nas train: error: trained 1 of 1 epoch (val acc ") and "No space left on device" in err
    assert f"the metrics are in {out / 'metrics.json'}" in err, err
    assert sorted(path.name for path in out.iterdir()) == ["metrics.json"]  # no checkpoint, no temporary file
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["checkpoint"] is None and metrics["checkpoint_error"] == "No space left on device"
    assert metrics["status"] == "ok" and len(metrics["history"]) == 1 and metrics["val_acc"] is not None


def test_a_checkpoint_failing_mid_run_keeps_the_previous_one_for_resume(workspace, tmp_path, capsys, monkeypatch):
    """torch's zip writer reports a full disk as RuntimeError ("unexpected pos"): the same line, and the first
    epoch's checkpoint stays whole for --resume."""
    import torch

    real_save, saves = torch.save, []

    def full_after_the_first(*args, **kwargs):
        saves.append(1)
        if len(saves) > 1:
            raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64 vs 0")
        return real_save(*args, **kwargs)

    monkeypatch.setenv("NAS_CACHE_DIR", str(workspace["root"] / "cache"))
    monkeypatch.setattr(torch, "save", full_after_the_first)
    out = tmp_path / "run"
    code = main(_train_argv(workspace, out, "--epochs", "2"))
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "trained 2 of 2 epochs" in err and "unexpected pos 64 vs 0" in err and "--resume" in err, err
    assert sorted(path.name for path in out.iterdir()) == ["checkpoint.pt", "metrics.json"]


def test_a_diverged_run_says_so_once(workspace, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NAS_CACHE_DIR", str(workspace["root"] / "cache"))
    (tmp_path / "r.yaml").write_text("lr: 1.0e+30\ngrad_clip: 0\n")
    code = main(_train_argv(workspace, tmp_path / "run", "--recipe", str(tmp_path / "r.yaml")))
    err = capsys.readouterr().err
    assert code == 1 and err.count("loss became") == 1, err
    assert err.splitlines()[-1].startswith("nas train: loss became nan in epoch 1"), err


def test_ctrl_c_during_nas_train_is_one_line_exit_130_and_leaves_no_folder(workspace, tmp_path, capsys, monkeypatch):
    import nas.train

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setenv("NAS_CACHE_DIR", str(workspace["root"] / "cache"))
    monkeypatch.setattr(nas.train, "train", interrupted)
    code = main(_train_argv(workspace, tmp_path / "runs" / "run"))
    err = capsys.readouterr().err
    assert code == 130 and err == "nas train: interrupted: no epoch had finished; nothing was written\n", err
    assert not (tmp_path / "runs").exists()


def test_a_forked_child_of_the_command_dies_of_sigterm_as_it_asks():
    """The command's SIGTERM handler (stop as on Ctrl-C) is inherited by forked children: the workers of the image
    decoding pools, which Pool.terminate ends with SIGTERM. There it must end the child, not raise
    KeyboardInterrupt inside its exit (which left a fresh search waiting on its decoding pool forever)."""
    import multiprocessing
    import signal
    import time

    from nas.cli import _stop_on_sigterm_as_on_ctrl_c

    noted, previous = _stop_on_sigterm_as_on_ctrl_c()
    try:
        child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
        child.start()
        time.sleep(0.5)
        child.terminate()  # SIGTERM, as Pool.terminate sends its workers
        child.join(timeout=10)
        assert child.exitcode == -signal.SIGTERM  # killed by the signal; with the handler raising it exited 1
        assert noted == []  # the command itself was not told to stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_sigterm_stops_nas_train_as_ctrl_c_does_with_exit_143(tmp_path, image_folder):
    """`kill` or a batch scheduler's time limit: one line naming the checkpoint kept, no temporary file left."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    command = [sys.executable, "-m", "nas", "train", "--baseline", "resnet20", "--data", str(image_folder),
               "--out", str(out), "--epochs", "500", "--batch-size", "16", "--no-progress",
               "--cache-dir", str(tmp_path / "cache")]
    process = subprocess.Popen(command, cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert err == (f"nas train: terminated: the checkpoint of the last whole epoch is {out / 'checkpoint.pt'}: "
                   f"add --resume to continue\n")
    assert sorted(path.name for path in out.iterdir()) == ["checkpoint.pt"]  # no half-written temporary file
