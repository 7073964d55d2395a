"""Search spaces: decisions, exact decode/encode inverses, seeded sampling, size, config errors."""

import random
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from nas.errors import ConfigError, GenotypeError
from nas.space.genotype_files import resolve_genotype
from nas.space import load_space

SPACES = Path(__file__).resolve().parents[1] / "search_spaces"
NASNET_SPACES = ["nasnet.yaml", "nasnet_extended.yaml", "tiny.yaml"]


@pytest.mark.parametrize("file", NASNET_SPACES)
@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10**9))
def test_decode_and_encode_are_exact_inverses(file, seed):
    space = load_space(SPACES / file)
    choices = space.sample(random.Random(seed))
    genotype = space.decode(choices)
    assert space.encode(genotype) == choices
    assert space.decode(space.encode(genotype)) == genotype
    genotype.validate(space.ops)


def test_nasnet_space_shape():
    space = load_space(SPACES / "nasnet.yaml")
    assert len(space.ops) == 13 and space.num_blocks == 5
    # per block: two inputs, two ops, one combine; two cells
    assert len(space.decisions) == 2 * 5 * 5
    assert space.decisions[0].name == "normal.b0.input_a" and space.decisions[0].num_choices == 2
    assert space.decisions[-1].name == "reduce.b4.combine"
    per_cell = 1
    for block in range(5):
        per_cell *= (2 + block) ** 2 * 13 ** 2 * 2
    assert space.size == per_cell ** 2


def test_sampling_is_seeded():
    space = load_space(SPACES / "nasnet.yaml")
    assert space.sample(random.Random(3)) == space.sample(random.Random(3))
    assert space.sample(random.Random(3)) != space.sample(random.Random(4))


def test_extended_space_has_the_modern_blocks():
    space = load_space(SPACES / "nasnet_extended.yaml")
    assert {"group_conv_3x3", "shuffle_conv_3x3", "se_block", "sk_conv"} <= set(space.ops)


def test_encode_rejects_genotypes_outside_the_space():
    space = load_space(SPACES / "nasnet.yaml")
    with pytest.raises(GenotypeError, match="has 4 blocks, the space has 5"):
        space.encode(resolve_genotype("darts-v2"))
    encoded = space.encode(resolve_genotype("enas"))  # ENAS follows the NASNet rule with 5 blocks
    assert space.decode(encoded).hash() == resolve_genotype("enas").hash()


def test_one_cell_space_uses_it_twice(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text("blocks: 2\nops: [conv_1x1, skip_connect]\ncells: [normal]\n")
    space = load_space(path)
    genotype = space.decode(space.sample(random.Random(0)))
    assert genotype.normal == genotype.reduce and len(space.decisions) == 8


@pytest.mark.parametrize("text, message", [
    ("blocks: 0\nops: [conv_1x1]\n", "'blocks' must be a whole number of at least 1"),
    ("blocks: 2\nops: []\n", "'ops' must be a non-empty list"),
    ("blocks: 2\nops: [conv_1x1]\ncombine: [multiply]\n", "'combine' must be a list"),
    ("blocks: 2\nops: [conv_1x1]\nlayers: 3\n", "unknown key\\(s\\) layers"),
    ("blocks: 2\nops: [conv_1x1\n", "not valid YAML at line"),
    ("type: transformer\n", "unknown space type 'transformer'"),
    ("- just\n- a list\n", "must be a YAML mapping"),
])
def test_bad_space_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_space(path)


def test_missing_space_file():
    with pytest.raises(ConfigError, match="cannot read space file"):
        load_space("does/not/exist.yaml")
