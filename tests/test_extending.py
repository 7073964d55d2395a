"""Extending the engine from outside `nas/`: a sampler, a space, a stack, a dataset source, a CLI command and an
op alias, each one module in tests/extensions/ registered with the engine's own decorators, used for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from nas.cli import main
from nas.cli.commands import COMMANDS
from nas.data.sources import DATASETS
from nas.errors import ConfigError
from nas.models.registry import MODELS
from nas.samplers import SAMPLERS, Outcome, Sampler, load_sampler
from nas.space import SPACES, SearchSpace
from nas.space.decisions import Decision
from nas.space.op_registry import OPS
from search_fixtures import make_image_folder, write_config


EXTENSIONS = Path(__file__).resolve().parent / "extensions"


@pytest.fixture
def user_modules(monkeypatch):
    """The extension folder on the import path; every registry and module restored afterwards."""
    monkeypatch.syspath_prepend(str(EXTENSIONS))
    before = set(sys.modules)
    with OPS.restored_afterwards(), MODELS.restored_afterwards(), SAMPLERS.restored_afterwards(), \
            SPACES.restored_afterwards(), DATASETS.restored_afterwards(), COMMANDS.restored_afterwards():
        yield monkeypatch
    for name in set(sys.modules) - before:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(EXTENSIONS)):
            del sys.modules[name]


def test_a_sampler_registered_through_the_registry_itself_saves_and_loads(tmp_path):
    """`@SAMPLERS.register(name)`, as nas/registry.py shows it, gives the class the `name` a saved file records,
    as `@register_sampler(name)` does; likewise a space registered with `@SPACES.register` gets its `type`."""
    with SAMPLERS.restored_afterwards(), SPACES.restored_afterwards():
        @SAMPLERS.register("raw-counting")
        class RawCountingSampler(Sampler):
            defaults = {"step": 1}

            def __init__(self, decisions, *, seed=0, **options):
                super().__init__(decisions, seed=seed, **options)
                self.position = 0

            def _propose(self):
                self.position += self.options["step"]
                return [self.position % decision.num_choices for decision in self.decisions]

            def _learn(self, suggestion, outcome):
                pass

            def _state(self):
                return {"position": self.position}

            def _load_state(self, state):
                self.position = int(state["position"])

        @SPACES.register("raw-space")
        class RawSpace(SearchSpace):
            pass

        assert RawCountingSampler.name == "raw-counting" and RawSpace.type == "raw-space"
        sampler = RawCountingSampler([Decision("a", ("x", "y", "z")), Decision("b", ("x", "y"))], seed=3, step=2)
        told, pending = sampler.ask(), sampler.ask()
        sampler.tell(told.token, Outcome("ok", 0.5))
        sampler.save(tmp_path / "sampler.json")
        restored = load_sampler(tmp_path / "sampler.json")
        assert type(restored) is RawCountingSampler and restored.options == {"step": 2} and restored.seed == 3
        assert restored.pending() == [pending] and restored.position == sampler.position
        assert restored.ask().choices == sampler.ask().choices


def test_a_user_command_runs_through_nas_import(user_modules, capsys):
    assert main(["hello"]) == 2  # not registered yet: argparse refuses it in one line
    assert "invalid choice: 'hello'" in capsys.readouterr().err
    user_modules.setenv("NAS_IMPORT", "hello_command")
    assert main(["hello", "--name", "cells"]) == 0
    assert capsys.readouterr().out == "hello, cells\n"


def test_a_missing_nas_import_module_is_one_line_and_exit_2(user_modules, capsys):
    user_modules.setenv("NAS_IMPORT", "no_such_extension")
    assert main(["ops"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "no_such_extension" in error and "NAS_IMPORT" in error


def test_a_user_stack_is_profiled_by_name(user_modules, capsys):
    user_modules.setenv("NAS_IMPORT", "wide_stem_stack")
    assert main(["profile", "--genotype", "darts-v2", "--stack", "wide-stem-cifar", "--channels", "8",
                 "--depth", "5", "--json"]) == 0
    wide = yaml.safe_load(capsys.readouterr().out)
    assert main(["profile", "--genotype", "darts-v2", "--stack", "cifar", "--channels", "8", "--cells", "5",
                 "--json"]) == 0
    plain = yaml.safe_load(capsys.readouterr().out)
    assert wide["params"] > plain["params"]  # the wider stem has more weights, so the stack really was used


def test_a_user_dataset_source_is_trained_on_and_found_by_auto(user_modules, tmp_path, capsys):
    user_modules.setenv("NAS_IMPORT", "noise_dataset")
    data = tmp_path / "noise-data"
    data.mkdir()
    (data / "NOISE").touch()
    out = tmp_path / "run"
    assert main(["train", "--baseline", "resnet20", "--data", str(data), "--epochs", "1", "--batch-size", "32",
                 "--no-progress", "--out", str(out)]) == 0  # --dataset auto: the source recognised its folder
    metrics = yaml.safe_load((out / "metrics.json").read_text())
    assert metrics["dataset"]["name"] == "noise" and metrics["dataset"]["classes"] == 3
    assert metrics["status"] == "ok"


def test_a_user_alias_reaches_the_canonical_hash(user_modules):
    from nas.models.ops import register_op
    from nas.space.genotype import Block, Cell, Genotype

    register_op("sep_3x3_twice", OPS.get("sep_conv_3x3").builder, description="an alias by another name",
                aliases=("my_sep",))
    written = Genotype.parse("normal: add(my_sep@0, skip_connect@1) | reduce: add(max_pool_3x3@0, my_sep@1)")
    canonical = Genotype.parse("normal: add(sep_3x3_twice@0, identity@1) | reduce: add(max_pool_3x3@0, "
                               "sep_3x3_twice@1)")
    assert written == canonical and written.hash() == canonical.hash()
    built = Genotype(Cell((Block(0, "my_sep", 1, "skip_connect"),)), Cell((Block(0, "max_pool_3x3", 1, "my_sep"),)))
    assert built.hash() == canonical.hash()  # written with the alias in code, not parsed: same network, same hash


@pytest.mark.slow  # a real search on a local Ray, started as a user would
def test_a_user_sampler_and_space_drive_a_real_search(tmp_path):
    data = make_image_folder(tmp_path / "data")
    space = tmp_path / "chain.yaml"
    space.write_text("type: chain\nname: chain\nblocks: 2\nops: [conv_1x1, max_pool_3x3, skip_connect]\n")
    config = write_config(tmp_path / "search.yaml", data, tmp_path / "results", name="chained", trials=3,
                          space=str(space), sampler="cyclic", sampler_options={"start": 1},
                          imports=["chain_space", "cyclic_sampler"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXTENSIONS), os.environ.get("PYTHONPATH", "")])}
    finished = subprocess.run([sys.executable, "-m", "nas", "search", "--config", str(config)], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    trials = pd.read_csv(tmp_path / "results" / "chained" / "trials.csv")
    assert set(trials["status"]) == {"ok"} and set(trials["sampler"]) == {"cyclic"}
    # Candidate k of the cyclic sampler (from start 1) takes op k mod 3 everywhere.
    expected = {f"add({op}@1, {op}@0) add({op}@2, {op}@0)" for op in ("max_pool_3x3", "skip_connect", "conv_1x1")}
    assert {genotype.split(" | ")[0].removeprefix("normal: ") for genotype in trials["genotype"]} == expected


def _journal_search(tmp_path, data, **changes):
    changes = {"name": "journaled", "trials": 3, "sampler": "journal", "imports": ["journal_sampler"], **changes}
    return write_config(tmp_path / "journal.yaml", data, tmp_path / "results", **changes)


def test_a_user_sampler_with_its_own_store_is_set_up_and_reopened_by_the_search(user_modules, tmp_path):
    """The search's own set-up (nas.search.sampler_setup) builds a sampler it knows nothing of: its store defaults
    to a file in the experiment folder through the same hooks the Optuna samplers use, and a resume reopens it."""
    from nas.samplers import Outcome
    from nas.search.experiment_config import load_experiment_config
    from nas.search.experiment_folder import ExperimentPaths
    from nas.search.sampler_setup import build_sampler, check_sampler
    from nas.space import load_space

    user_modules.syspath_prepend(str(EXTENSIONS))
    import journal_sampler

    config = load_experiment_config(_journal_search(tmp_path, tmp_path, sampler_options={"stride": 2}))
    space = load_space(config.space)
    check_sampler(config, space)  # the dry build: nothing written, no journal opened
    paths = ExperimentPaths(tmp_path / "results" / "journaled")
    assert not paths.root.exists()
    paths.root.mkdir(parents=True)
    sampler = build_sampler(config, space, paths, resume=False)
    asked = [sampler.ask() for _ in range(3)]
    for suggestion in asked[:2]:
        sampler.tell(suggestion.token, Outcome("ok", reward=0.5))
    sampler.save(paths.sampler)
    journal = paths.root / journal_sampler.JOURNAL_FILE
    assert len(journal.read_text().splitlines()) == 5  # three asks, two tells

    moved = ExperimentPaths(tmp_path / "moved" / "journaled")
    moved.root.parent.mkdir()
    paths.root.rename(moved.root)
    resumed = build_sampler(config, space, moved, resume=True)
    assert resumed.path == moved.root / journal_sampler.JOURNAL_FILE and resumed.replayed == 5
    assert resumed.pending() == [asked[2]] and resumed.told == {0: "ok", 1: "ok"}
    assert resumed.ask().choices == tuple((3 * 2) % d.num_choices for d in space.decisions)
    with pytest.raises(ConfigError, match="exists; pass --resume"):  # a fresh start never adopts an old journal
        build_sampler(config.replace(sampler_options={"journal": str(resumed.path)}), space, moved, resume=False)


@pytest.mark.parametrize("options, message", [
    ({"stride": 0}, "sampler 'journal': option stride=0 is outside 1.."),
    ({"journal": "notes.txt"}, "sampler 'journal': option journal='notes.txt' must name a .jsonl file"),
    ({"journal": "{file}/j.jsonl"}, "is a file, not a folder"),
    ({"jornal": "j.jsonl"}, "sampler 'journal' has no option 'jornal'"),
])
def test_a_bad_option_of_a_user_sampler_is_one_line_and_exit_2(user_modules, tmp_path, capsys, options, message):
    (tmp_path / "file").write_text("")
    options = {key: value.format(file=tmp_path / "file") if isinstance(value, str) else value
               for key, value in options.items()}
    user_modules.syspath_prepend(str(EXTENSIONS))
    config = _journal_search(tmp_path, make_image_folder(tmp_path / "data", per_class=2), sampler_options=options)
    assert main(["search", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "results").exists()


@pytest.mark.slow  # a real search on a local Ray, and its resume, started as a user would
def test_a_user_sampler_keeps_its_own_store_through_a_real_search_and_its_resume(tmp_path):
    data = make_image_folder(tmp_path / "data")
    config = _journal_search(tmp_path, data, trials=2, sampler_options={"stride": 2})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXTENSIONS), os.environ.get("PYTHONPATH", "")])}
    for flags in ([], ["--trials", "3", "--resume"]):
        finished = subprocess.run([sys.executable, "-m", "nas", "search", "--config", str(config), *flags],
                                  cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert finished.returncode == 0, finished.stderr[-2000:]
    experiment = tmp_path / "results" / "journaled"
    trials = pd.read_csv(experiment / "trials.csv")
    assert len(trials) == 3 and set(trials["status"]) == {"ok"} and set(trials["sampler"]) == {"journal"}
    entries = [json.loads(line) for line in (experiment / "journal.jsonl").read_text().splitlines()]
    # The resume reopened the journal: its asks go on from token 2, and every ask was told.
    assert [entry["ask"] for entry in entries if "ask" in entry] == [0, 1, 2]
    assert sorted(entry["tell"] for entry in entries if "tell" in entry) == [0, 1, 2]
    assert sorted(trials["token"]) == [0, 1, 2]


def test_stacks_and_baselines_are_registered_with_only_their_own_fields(user_modules):
    """A stack's entry is a StackSpec (default channels and cells), a baseline's a BaselineSpec (paper, published
    counts, image sizes); a keyword of the other kind is refused where the model is registered."""
    import dataclasses

    from nas.models.registry import BaselineSpec, StackSpec, get_model, register_model

    import wide_stem_stack  # noqa: F401

    stack, baseline = get_model("wide-stem-cifar", kind="stack"), get_model("resnet56", kind="baseline")
    assert type(stack) is StackSpec and (stack.channels, stack.cells, stack.image_size) == (36, 20, 32)
    assert type(baseline) is BaselineSpec and baseline.published_params and baseline.max_image_size == 64
    assert {field.name for field in dataclasses.fields(StackSpec)} == {"name", "builder", "description",
                                                                        "image_size", "channels", "cells"}
    assert not {"channels", "cells"} & {field.name for field in dataclasses.fields(BaselineSpec)}
    with pytest.raises(TypeError, match="paper"):
        register_model("papered-stack", kind="stack", channels=8, cells=2, paper="someone")
    with pytest.raises(TypeError, match="cells"):
        register_model("shallow-stack", kind="stack", channels=8)
    with pytest.raises(TypeError, match="channels"):
        register_model("wide-baseline", channels=8)
    assert "papered-stack" not in MODELS and "wide-baseline" not in MODELS


def test_a_registry_imports_its_packages_only_until_it_finds_a_name(tmp_path, monkeypatch):
    """A trial's worker finds its network stack in nas.models without importing the zoo (and torchvision):
    packages are discovered in order, as far as the name asked for; listing the names imports them all."""
    from nas.registry import Registry

    registry = Registry("thing", discover=("first_things", "second_things"))
    for package, name in (("first_things", "near"), ("second_things", "far")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / f"{name}.py").write_text(
            f"import test_extending_registry as r\nr.REGISTRY.register({name!r}, {name!r})\n")
    (tmp_path / "test_extending_registry.py").write_text("REGISTRY = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import test_extending_registry

    monkeypatch.setattr(test_extending_registry, "REGISTRY", registry)
    assert registry.get("near") == "near" and "second_things" not in sys.modules
    assert "far" in registry and "second_things" in sys.modules
    assert registry.names() == ["near", "far"]
    with pytest.raises(ConfigError, match="unknown thing 'nowhere'; valid: near, far"):
        registry.get("nowhere")
    for module in ("first_things", "first_things.near", "second_things", "second_things.far",
                   "test_extending_registry"):
        sys.modules.pop(module, None)  # the packages live in tmp_path, gone after the test
