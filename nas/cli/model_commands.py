"""`nas ops`, `nas space`, `nas show` and `nas profile`: look at operations, spaces, cells and model costs."""

from __future__ import annotations

import json
import sys

from nas.analysis.cell_graph import node_name
from nas.cli.commands import output_place, positive_int, register_command, stack_name
from nas.cli.shared_flags import add_depth_flag
from nas.errors import ConfigError
from nas.plural import count_of
from nas.space import load_space
from nas.space.decisions import describe_count
from nas.space.genotype import NUM_CELL_INPUTS
from nas.space.nasbench201 import EDGES, NUM_NODES, NasBench201Space, is_nasbench201_arch
from nas.space.op_registry import OPS


def _space_arguments(parser) -> None:
    parser.add_argument("file", help="search space YAML (e.g. search_spaces/nasnet.yaml)")


def _show_arguments(parser) -> None:
    parser.add_argument("genotype", metavar="NAME|FILE|ARCH", help="published cell name (e.g. darts-v2), genotype file "
                                                                  "or NAS-Bench-201 string ('|nor_conv_3x3~0|+|...|')")
    parser.add_argument("--out", type=output_place, help="draw the normal and reduction cells to this .png, .svg or "
                                                         ".pdf")
    parser.add_argument("--renderer", choices=("auto", "graphviz", "matplotlib"), default="auto",
                        help="auto (default): graphviz where its dot program is installed, else matplotlib")


def _profile_arguments(parser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--genotype", metavar="NAME|FILE|ARCH", help="published cell name, genotype file or "
                                                                   "NAS-Bench-201 string ('|nor_conv_3x3~0|+|...|')")
    what.add_argument("--baseline", metavar="NAME", help="hand-designed network (e.g. resnet56, resnet50)")
    parser.add_argument("--stack", type=stack_name(),
                        help="network stack for --genotype: %(type)s (default: cifar for small images)")
    parser.add_argument("--channels", type=positive_int, help="initial channels C (default: the stack's published "
                                                               "value)")
    add_depth_flag(parser, deprecated_cells=True, type=positive_int, notice_file=sys.stderr,  # stdout may be JSON
                   help="number of cells, reductions included (default: the stack's)")
    parser.add_argument("--image-size", type=positive_int, help="input height and width (default: the model's)")
    parser.add_argument("--in-channels", type=positive_int, default=3, help="input channels (default 3)")
    parser.add_argument("--num-classes", type=positive_int, help="classes (default 1000 for ImageNet models, else 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


@register_command("ops", help="list the registered cell operations")
def run_ops(args) -> int:
    """List every registered operation with a one-line description (aliases in brackets)."""
    specs = [spec for _, spec in OPS.items()]
    width = max(len(spec.name) for spec in specs)
    for spec in specs:
        aliases = OPS.aliases_of(spec.name)
        aliases = f" [alias: {', '.join(aliases)}]" if aliases else ""
        print(f"{spec.name:<{width}}  {spec.description}{aliases}")
    return 0


@register_command("space", help="describe a search space file", arguments=_space_arguments)
def run_space(args) -> int:
    """Describe a search space: its decisions, its operations and how many architectures it holds."""
    space = load_space(args.file)
    space.check_ops(OPS.all_names())
    decisions = list(space.decisions)
    print(f"space {space.name} ({space.type}): {count_of(len(decisions), 'decision')}")
    if space.description:
        print(space.description)
    if space.ops:
        print(f"operations ({len(space.ops)}):")
        width = max(len(op) for op in space.ops)
        for op in space.ops:
            print(f"  {op:<{width}}  {space.describe_op(op)}")
    print("decisions:")
    width = max(len(decision.name) for decision in decisions)
    for decision in decisions:
        choices = ", ".join(decision.choices)
        if len(choices) > 70:
            choices = choices[:67] + "..."
        print(f"  {decision.name:<{width}}  {decision.num_choices:>3} choices: {choices}")
    note = f"; {space.size_note()}" if space.size_note() else ""
    print(f"size: {describe_count(space.size, 'architectures')}{note}")
    return 0


@register_command("show", help="print a genotype and optionally draw its cells", arguments=_show_arguments)
def run_show(args) -> int:
    """Print a genotype (one-line form, hash, blocks, DARTS form) and optionally draw its cells."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.models import resolve_genotype_for_model

    if is_nasbench201_arch(args.genotype):
        return _show_nasbench201(args)
    if args.out:
        # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
        from nas.analysis.cell_diagram import check_diagram_path

        check_diagram_path(args.out, "--out")
    genotype = resolve_genotype_for_model(args.genotype)
    print(genotype)
    print(f"hash: {genotype.hash()}")

    def named(node: int) -> str:  # the names the diagrams use
        return node_name(node) if node < NUM_CELL_INPUTS else f"node {node_name(node)}"

    for cell_name, cell in genotype.cells().items():
        print(f"{cell_name} cell: {count_of(len(cell.blocks), 'block')}, output = concat of "
              f"{', '.join(named(node) for node in cell.output_nodes())}")
        for index, block in enumerate(cell.blocks):
            print(f"  {named(NUM_CELL_INPUTS + index)} = {block.combine}({block.op_a}({named(block.input_a)}), "
                  f"{block.op_b}({named(block.input_b)}))")
    if all(block.combine == "add" for cell in genotype.cells().values() for block in cell.blocks):
        print(f"DARTS: {genotype.to_darts()}")
    if args.out:
        # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
        from nas.analysis.cell_diagram import save_cell_diagram

        path, renderer, fallback_reason = save_cell_diagram(genotype, args.out, title=str(args.genotype),
                                                            renderer=args.renderer)
        print(f"wrote {path} (drawn with {renderer}" + (f"; {fallback_reason}" if fallback_reason else "") + ")")
    return 0


def _show_nasbench201(args) -> int:
    """A NAS-Bench-201 cell as text: node j sums one op on each earlier node (the diagrams draw NASNet cells only)."""
    if args.out:
        raise ConfigError("--out draws NASNet-style cells; a NAS-Bench-201 cell is shown as text only (leave out "
                          "--out)")
    space = NasBench201Space()
    choices = space.encode(args.genotype)
    print(space.decode(choices))
    print(f"NAS-Bench-201 cell: {NUM_NODES} nodes, {len(EDGES)} edges; node 0 is the cell's input, node "
          f"{NUM_NODES - 1} its output")
    for node in range(1, NUM_NODES):
        edges = [f"{space.ops[choice]}(node {source})" for (target, source), choice in zip(EDGES, choices)
                 if target == node]
        print(f"  node {node} = {' + '.join(edges)}")
    return 0


@register_command("profile", help="count a model's parameters and multiply-adds", arguments=_profile_arguments)
def run_profile(args) -> int:
    """Count parameters (auxiliary head excluded) and multiply-adds of a cell network or a baseline."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    import torch

    from nas.models import SMALL_IMAGE_STACK, build_model, count_params_and_macs, get_model
    from nas.models.baseline_table import default_classes

    if is_nasbench201_arch(args.genotype):
        return _profile_nasbench201(args)
    if args.genotype is not None:
        args.stack = args.stack or SMALL_IMAGE_STACK
        spec = get_model(args.stack, kind="stack")
    else:
        spec = get_model(args.baseline, kind="baseline")
    image_size = args.image_size or spec.image_size
    num_classes = args.num_classes or default_classes(spec)
    # Built on the meta device: shapes only, so even NASNet-large at 331 px is counted in a second.
    with torch.device("meta"):
        model = build_model(genotype=args.genotype, baseline=args.baseline, stack=args.stack,
                            channels=args.channels, cells=args.depth, num_classes=num_classes,
                            in_channels=args.in_channels, image_size=image_size)
    try:
        counts = count_params_and_macs(model, (args.in_channels, image_size, image_size))
    except RuntimeError as error:  # e.g. an input too small for the network's strides
        raise ConfigError(f"cannot run the model on {image_size} px inputs: {str(error).splitlines()[0]}") from None
    result = {"params": counts["params"], "macs": counts["macs"], "image_size": image_size,
              "num_classes": num_classes}
    if args.genotype is not None:
        result.update(genotype=args.genotype, stack=args.stack,
                      channels=args.channels or spec.channels, cells=args.depth or spec.cells)
    else:
        result.update(baseline=args.baseline)
    if hasattr(model, "inference_model"):  # trained in one form, used in another (CondenseNet once condensed)
        inference = count_params_and_macs(model.inference_model(), (args.in_channels, image_size, image_size))
        result.update(inference_params=inference["params"], inference_macs=inference["macs"])
    if args.json:
        print(json.dumps(result))
        return 0
    if args.genotype is not None:
        what = (f"{args.genotype} in {args.stack} (C={result['channels']}, {count_of(result['cells'], 'cell')}, "
                f"{image_size} px, {num_classes} classes)")
    else:
        what = f"{args.baseline} ({image_size} px, {num_classes} classes)"
    print(f"{what}: {counts['params'] / 1e6:.3f}M params, {counts['macs'] / 1e6:.1f}M multiply-adds")
    if "inference_params" in result:
        print(f"  for inference, after training: {result['inference_params'] / 1e6:.3f}M params, "
              f"{result['inference_macs'] / 1e6:.1f}M multiply-adds")
    return 0


def _profile_nasbench201(args) -> int:
    """The benchmark's network for a NAS-Bench-201 string: parameters, multiply-adds, and its FLOPs as the
    benchmark's table counts them (convolutions, linear layers and their biases; nas.models.nasbench201_network)."""
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    import torch

    from nas.models import benchmark_flops, build_model, count_params_and_macs
    from nas.models.nasbench201_network import check_nasbench201_network

    arch = check_nasbench201_network(args.genotype, stack=args.stack, channels=args.channels, cells=args.depth)
    image_size, num_classes = args.image_size or 32, args.num_classes or 10
    with torch.device("meta"):  # shapes only, as for the other networks
        model = build_model(genotype=arch, channels=args.channels, cells=args.depth, num_classes=num_classes,
                            in_channels=args.in_channels, image_size=image_size)
    shape = (args.in_channels, image_size, image_size)
    counts = count_params_and_macs(model, shape)
    result = {"params": counts["params"], "macs": counts["macs"], "benchmark_flops": benchmark_flops(model, shape),
              "image_size": image_size, "num_classes": num_classes, "genotype": arch, "network": "nasbench201",
              "channels": model.channels, "cells": model.depth}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{arch} as the NAS-Bench-201 network (C={model.channels}, {count_of(model.depth, 'cell')}, {image_size} "
          f"px, {num_classes} classes): {counts['params'] / 1e6:.6f}M params, {counts['macs'] / 1e6:.2f}M "
          f"multiply-adds, {result['benchmark_flops'] / 1e6:.5f}M FLOPs as the benchmark counts them")
    return 0
