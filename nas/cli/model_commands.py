"""`nas ops`, `nas space`, `nas show` and `nas profile`: look at operations, spaces, cells and model costs."""

from __future__ import annotations

import json

# The model registry's stacks, written out so that building the parser does not import torch
# (tests/test_model_cli.py checks the two agree).
STACK_CHOICES = ("cifar", "imagenet", "nasnet-mobile", "nasnet-large")


def register(subparsers) -> None:
    ops = subparsers.add_parser("ops", help="list the registered cell operations", description=run_ops.__doc__)
    ops.set_defaults(func=run_ops)

    space = subparsers.add_parser("space", help="describe a search space file", description=run_space.__doc__)
    space.add_argument("file", help="search space YAML (e.g. search_spaces/nasnet.yaml)")
    space.set_defaults(func=run_space)

    show = subparsers.add_parser("show", help="print a genotype and optionally draw its cells",
                                 description=run_show.__doc__)
    show.add_argument("genotype", metavar="NAME|FILE", help="published cell name (e.g. darts-v2) or genotype file")
    show.add_argument("--out", help="draw the normal and reduction cells to this .png, .svg or .pdf")
    show.set_defaults(func=run_show)

    profile = subparsers.add_parser("profile", help="count a model's parameters and multiply-adds",
                                    description=run_profile.__doc__)
    what = profile.add_mutually_exclusive_group(required=True)
    what.add_argument("--genotype", metavar="NAME|FILE", help="published cell name or genotype file")
    what.add_argument("--baseline", metavar="NAME", help="hand-designed network (e.g. resnet56, resnet50)")
    profile.add_argument("--stack", default="cifar", choices=STACK_CHOICES, help="network stack for --genotype")
    profile.add_argument("--channels", type=int, help="initial channels C (default: the stack's published value)")
    profile.add_argument("--cells", type=int, help="cells, reductions included (default: the stack's)")
    profile.add_argument("--image-size", type=int, help="input height and width (default: the model's)")
    profile.add_argument("--in-channels", type=int, default=3, help="input channels (default 3)")
    profile.add_argument("--num-classes", type=int, help="classes (default 1000 for ImageNet models, else 10)")
    profile.add_argument("--json", action="store_true", help="print one JSON object")
    profile.set_defaults(func=run_profile)


def run_ops(args) -> int:
    """List every registered operation with a one-line description (aliases in brackets)."""
    from nas.models.ops import list_ops

    specs = list_ops()
    width = max(len(spec.name) for spec in specs)
    for spec in specs:
        aliases = f" [alias: {', '.join(spec.aliases)}]" if spec.aliases else ""
        print(f"{spec.name:<{width}}  {spec.description}{aliases}")
    return 0


def run_space(args) -> int:
    """Describe a search space: its decisions, its operations and how many architectures it holds."""
    from nas.models.ops import get_op, known_op_names
    from nas.space.search_space import load_space

    space = load_space(args.file)
    ops = tuple(getattr(space, "ops", ()) or ())
    if ops and hasattr(space, "check_ops"):
        space.check_ops(known_op_names())
    decisions = list(space.decisions)
    print(f"space {space.name} ({getattr(space, 'type', 'nasnet')}): {len(decisions)} decisions")
    description = getattr(space, "description", "")
    if description:
        print(description)
    if ops:
        print(f"operations ({len(ops)}):")
        width = max(len(op) for op in ops)
        known = known_op_names()
        for op in ops:  # a tabular space's ops (NAS-Bench-201's) are answered from its table, not built
            description = get_op(op).description if op in known else "answered from the benchmark's table"
            print(f"  {op:<{width}}  {description}")
    print("decisions:")
    width = max(len(decision.name) for decision in decisions)
    for decision in decisions:
        choices = ", ".join(decision.choices)
        if len(choices) > 70:
            choices = choices[:67] + "..."
        print(f"  {decision.name:<{width}}  {decision.num_choices:>3} choices: {choices}")
    size = space.size
    note = ("; each one decision vector (cells differing only in block or branch order count once per order)"
            if getattr(space, "type", "nasnet") == "nasnet" else "")
    print(f"size: {size:,} architectures ({size:.3g}){note}")
    return 0


def run_show(args) -> int:
    """Print a genotype (one-line form, hash, blocks, DARTS form) and optionally draw its cells."""
    from nas.models import resolve_genotype_for_model
    from nas.space.genotype import NUM_CELL_INPUTS

    genotype = resolve_genotype_for_model(args.genotype)
    print(genotype)
    print(f"hash: {genotype.hash()}")
    names = {0: "c_{k-2}", 1: "c_{k-1}"}
    for cell_name, cell in genotype.cells().items():
        print(f"{cell_name} cell: {len(cell.blocks)} blocks, output = concat of nodes "
              f"{', '.join(str(node) for node in cell.output_nodes())}")
        for index, block in enumerate(cell.blocks):
            a = names.get(block.input_a, f"node {block.input_a}")
            b = names.get(block.input_b, f"node {block.input_b}")
            print(f"  node {NUM_CELL_INPUTS + index} = {block.combine}({block.op_a}({a}), {block.op_b}({b}))")
    if all(block.combine == "add" for cell in genotype.cells().values() for block in cell.blocks):
        print(f"DARTS: {genotype.to_darts()}")
    if args.out:
        from nas.analysis.cell_diagram import save_cell_diagram

        path = save_cell_diagram(genotype, args.out, title=str(args.genotype))
        print(f"wrote {path}")
    return 0


def run_profile(args) -> int:
    """Count parameters (auxiliary head excluded) and multiply-adds of a cell network or a baseline."""
    import torch

    from nas.models import build_model, count_params_and_macs, get_model

    if args.genotype is not None:
        spec = get_model(args.stack, kind="stack")
    else:
        spec = get_model(args.baseline, kind="baseline")
    image_size = args.image_size or spec.image_size
    num_classes = args.num_classes or (1000 if spec.image_size >= 224 else 10)
    # Built on the meta device: shapes only, so even NASNet-large at 331 px is counted in a second.
    with torch.device("meta"):
        model = build_model(genotype=args.genotype, baseline=args.baseline, stack=args.stack,
                            channels=args.channels, cells=args.cells, num_classes=num_classes,
                            in_channels=args.in_channels, image_size=image_size)
    try:
        counts = count_params_and_macs(model, (args.in_channels, image_size, image_size))
    except RuntimeError as error:  # e.g. an input too small for the network's strides
        from nas.errors import ConfigError

        raise ConfigError(f"cannot run the model on {image_size} px inputs: {str(error).splitlines()[0]}") from None
    result = {"params": counts["params"], "macs": counts["macs"], "image_size": image_size,
              "num_classes": num_classes}
    if args.genotype is not None:
        result.update(genotype=args.genotype, stack=args.stack,
                      channels=args.channels or spec.defaults["channels"], cells=args.cells or spec.defaults["cells"])
    else:
        result.update(baseline=args.baseline)
    if args.json:
        print(json.dumps(result))
        return 0
    if args.genotype is not None:
        what = (f"{args.genotype} in {args.stack} (C={result['channels']}, {result['cells']} cells, "
                f"{image_size} px, {num_classes} classes)")
    else:
        what = f"{args.baseline} ({image_size} px, {num_classes} classes)"
    print(f"{what}: {counts['params'] / 1e6:.3f}M params, {counts['macs'] / 1e6:.1f}M multiply-adds")
    return 0
