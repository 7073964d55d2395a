"""Genotypes: text/YAML/JSON/DARTS round trips, validation messages, canonical form and hash."""

import json
import random

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from nas.errors import GenotypeError
from nas.space.genotype import NUM_CELL_INPUTS, Block, Cell, Genotype
from nas.space.genotype_files import resolve_genotype
from nas.space.genotype_files import load_genotype, parse_genotype_text, published_cell_names, save_genotype
from nas.space.genotype import _topological_orders

OPS = ["skip_connect", "sep_conv_3x3", "sep_conv_5x5", "max_pool_3x3", "avg_pool_3x3", "conv_1x1"]
PUBLISHED = ["nasnet-a", "amoebanet-a", "darts-v1", "darts-v2", "pnasnet-5", "enas"]


def random_cell(rng: random.Random, num_blocks: int, ops: list[str], combines=("add",)) -> Cell:
    """A uniformly random cell."""
    combines = list(combines)
    blocks = []
    for index in range(num_blocks):
        nodes = NUM_CELL_INPUTS + index
        blocks.append(Block(rng.randrange(nodes), rng.choice(ops), rng.randrange(nodes), rng.choice(ops),
                            rng.choice(combines)))
    return Cell(tuple(blocks))


def random_genotype(seed, blocks=5, combines=("add", "concat")):
    rng = random.Random(seed)
    return Genotype(random_cell(rng, blocks, OPS, combines), random_cell(rng, blocks, OPS, combines))


def shuffled(cell: Cell, rng: random.Random) -> Cell:
    """The same cell with its blocks in another valid order and some branches swapped."""
    order = rng.choice(list(_topological_orders(cell.blocks)))
    new_index = {node: node for node in range(NUM_CELL_INPUTS)}
    for position, old in enumerate(order):
        new_index[NUM_CELL_INPUTS + old] = NUM_CELL_INPUTS + position
    blocks = []
    for old in order:
        block = cell.blocks[old]
        branches = [(block.op_a, new_index[block.input_a]), (block.op_b, new_index[block.input_b])]
        if rng.random() < 0.5:
            branches.reverse()
        blocks.append(Block(branches[0][1], branches[0][0], branches[1][1], branches[1][0], block.combine))
    return Cell(tuple(blocks), tuple(sorted(new_index[node] for node in cell.output_nodes())))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**9), st.integers(1, 6))
def test_one_line_yaml_and_json_round_trip(seed, blocks):
    genotype = random_genotype(seed, blocks)
    assert Genotype.parse(str(genotype)) == genotype
    assert Genotype.from_dict(yaml.safe_load(yaml.safe_dump(genotype.to_dict()))) == genotype
    assert Genotype.from_dict(json.loads(json.dumps(genotype.to_dict()))) == genotype


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**9))
def test_canonical_hash_ignores_block_and_branch_order(seed):
    genotype = random_genotype(seed)
    rng = random.Random(seed + 1)
    reordered = Genotype(shuffled(genotype.normal, rng), shuffled(genotype.reduce, rng))
    assert reordered.hash() == genotype.hash()
    assert reordered.canonical() == genotype.canonical()
    assert genotype.canonical().canonical() == genotype.canonical()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**9))
def test_hash_tells_different_cells_apart(seed):
    genotype = random_genotype(seed)
    block = genotype.normal.blocks[0]
    other_op = next(op for op in OPS if op not in (block.op_a, block.op_b))
    changed = Cell((Block(block.input_a, other_op, block.input_b, block.op_b, block.combine),
                    *genotype.normal.blocks[1:]))
    assert Genotype(changed, genotype.reduce).hash() != genotype.hash()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**9))
def test_darts_format_round_trip(seed):
    genotype = random_genotype(seed, combines=("add",))
    back = Genotype.from_darts(genotype.to_darts())
    # DARTS always lists the output nodes, so the round trip makes them explicit.
    assert back.normal.blocks == genotype.normal.blocks
    assert back.normal.output_nodes() == genotype.normal.output_nodes()
    assert back.hash() == genotype.hash()


def test_darts_format_reads_range_concat_and_aliases():
    text = ("Genotype(normal=[('sep_conv_3x3', 0), ('identity', 1)], normal_concat=range(2, 3), "
            "reduce=[('conv_7x1_1x7', 0), ('max_pool_3x3', 1)], reduce_concat=[2])")
    genotype = Genotype.from_darts(text)
    assert genotype.normal.blocks[0] == Block(0, "sep_conv_3x3", 1, "skip_connect")
    assert genotype.reduce.blocks[0].op_a == "conv_1x7_7x1"
    assert genotype.normal.concat == (2,)


def test_darts_format_is_read_strictly_but_in_any_layout():
    layout = ('Genotype(\n    normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1)],\n    normal_concat = range(2, 3),\n'
              '    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1)],\n    reduce_concat=[2],\n)')
    assert Genotype.from_darts(layout).normal.concat == (2,)
    for junk, message in ((layout.replace("normal_concat", "normal_concat_x"), "unknown field"),
                          (layout.replace("[2]", "[2, x]"), "must list node numbers"),
                          (layout.replace("range(2, 3)", "range(2, 10**9)"), "cannot parse"),
                          (layout.replace("range(2, 3)", "range(2, 5)"), "names nodes the cell does not have")):
        with pytest.raises(GenotypeError, match=message):
            Genotype.from_darts(junk)


def test_concat_genotype_cannot_be_written_as_darts():
    genotype = Genotype(Cell((Block(0, "conv_1x1", 1, "conv_1x1", "concat"),)), Cell((Block(0, "conv_1x1", 1, "conv_1x1"),)))
    with pytest.raises(GenotypeError, match="normal cell.*add"):
        genotype.to_darts()


def test_nasnet_rule_picks_unused_blocks():
    cell = Cell((Block(0, "conv_1x1", 1, "conv_1x1"), Block(2, "conv_1x1", 0, "conv_1x1"),
                 Block(1, "conv_1x1", 1, "conv_1x1")))
    assert cell.output_nodes() == (3, 4)
    assert Cell(cell.blocks, (2, 3, 4)).output_nodes() == (2, 3, 4)


@pytest.mark.parametrize("cell, message", [
    (Cell(()), "normal cell: has no blocks"),
    (Cell((Block(0, "conv_1x1", 3, "conv_1x1"),)), "normal cell, block 0: input_b reads node 3"),
    (Cell((Block(0, "conv_1x1", 1, "warp_drive"),)), "normal cell, block 0: unknown op 'warp_drive'"),
    (Cell((Block(0, "conv_1x1", 1, "conv_1x1", "multiply"),)), "combine 'multiply'"),
    (Cell((Block(0, "conv_1x1", 1, "conv_1x1"),), (7,)), "output node 7 does not exist"),
])
def test_validation_names_cell_block_and_problem(cell, message):
    reduce = Cell((Block(0, "conv_1x1", 1, "conv_1x1"),))
    with pytest.raises(GenotypeError, match=message.replace("(", r"\(")):
        Genotype(cell, reduce).validate(known_ops=OPS)


def test_published_cells_load_by_name_and_validate():
    assert set(PUBLISHED) <= set(published_cell_names())
    for name in PUBLISHED:
        genotype = resolve_genotype(name).validate(OPS + ["sep_conv_7x7", "dil_conv_3x3", "conv_1x7_7x1"])
        assert len(genotype.normal.blocks) in (4, 5)
    darts_v2 = resolve_genotype("darts-v2")
    assert darts_v2.normal.blocks[3] == Block(0, "skip_connect", 2, "dil_conv_3x3")
    assert darts_v2.normal.output_nodes() == (2, 3, 4, 5)
    enas = resolve_genotype("enas")  # the NASNet rule: unused nodes only
    assert enas.normal.concat is None and enas.normal.output_nodes() == (2, 3, 4, 5, 6)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_genotype_files_round_trip(tmp_path, suffix):
    genotype = random_genotype(7)
    path = tmp_path / f"cell{suffix}"
    save_genotype(path, genotype, name="mine")
    assert load_genotype(path) == genotype
    assert resolve_genotype(str(path)) == genotype


def test_genotype_text_forms_parse():
    genotype = resolve_genotype("darts-v2")
    assert parse_genotype_text(str(genotype)) == genotype
    assert parse_genotype_text(genotype.to_darts()).hash() == genotype.hash()


def test_bad_genotype_files_name_the_problem(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("normal: [unclosed\n")
    with pytest.raises(GenotypeError, match="not valid YAML"):
        load_genotype(broken)
    with pytest.raises(GenotypeError, match="no genotype file or published cell named 'nope'"):
        resolve_genotype("nope")
    with pytest.raises(GenotypeError, match="cannot parse"):
        Genotype.parse("normal: add(conv_1x1@0 conv_1x1@1) | reduce: add(conv_1x1@0, conv_1x1@1)")
