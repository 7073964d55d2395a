"""Reading and writing genotype files, and finding published cells by name."""

from __future__ import annotations

import json
from pathlib import Path

from nas.atomic_files import write_text_atomic
from nas.errors import GenotypeError
from nas.package_files import PUBLISHED_CELLS_DIR
from nas.space.genotype import Genotype
from nas.yaml_files import dump_yaml, parse_yaml, read_text_file


def published_cell_names() -> list[str]:
    return sorted(path.stem for path in PUBLISHED_CELLS_DIR.glob("*.yaml"))


def parse_genotype_text(text: str, source: str = "genotype") -> Genotype:
    """Accepts YAML or JSON mappings, the one-line form, or the DARTS `Genotype(...)` form."""
    stripped = text.strip()
    if stripped.startswith("Genotype("):
        return Genotype.from_darts(stripped)
    if stripped.startswith("normal:") and "| reduce:" in stripped and "\n" not in stripped:
        return Genotype.parse(stripped)
    data = parse_yaml(text, source, GenotypeError)  # JSON is YAML too
    if isinstance(data, str):
        return parse_genotype_text(data, source) if data.strip() != stripped else Genotype.parse(data)
    try:
        return Genotype.from_dict(data)
    except GenotypeError as error:
        raise GenotypeError(f"{source}: {error}") from None


def load_genotype(path) -> Genotype:
    return parse_genotype_text(read_text_file(path, "genotype file", GenotypeError), str(path))


def resolve_genotype(name_or_path) -> Genotype:
    """A published cell by name (`darts-v2`), a genotype file, or a genotype written inline."""
    if isinstance(name_or_path, Genotype):
        return name_or_path
    text = str(name_or_path)
    if text.startswith("normal:") or text.startswith("Genotype("):  # inline: too long to be tried as a file name
        return parse_genotype_text(text)
    published = PUBLISHED_CELLS_DIR / f"{text}.yaml"
    if published.is_file():
        return load_genotype(published)
    if Path(text).is_file():
        return load_genotype(text)
    raise GenotypeError(
        f"no genotype file or published cell named {text!r} (published: {', '.join(published_cell_names())})"
    )


def declared_name(name_or_path) -> str | None:
    """The name a cell gives itself: a published cell's name, or a genotype file's `name:` field (a search writes
    `<experiment>-<rank>` there); None for inline text and for files without one."""
    text = str(name_or_path)
    if (PUBLISHED_CELLS_DIR / f"{text}.yaml").is_file():
        return text
    if text.startswith(("normal:", "Genotype(")) or not Path(text).is_file():
        return None
    content = read_text_file(text, "genotype file", GenotypeError).strip()
    if content.startswith("Genotype(") or (content.startswith("normal:") and "\n" not in content):
        return None  # the DARTS and one-line forms carry no name
    data = parse_yaml(content, text, GenotypeError)
    name = str(data.get("name") or "").strip() if isinstance(data, dict) else ""
    return name or None


def genotype_document(genotype: Genotype, **metadata) -> dict:
    """The YAML/JSON document for a genotype: metadata first, then the one-line form and the cells."""
    return {**metadata, "genotype": str(genotype), "hash": genotype.hash(), **genotype.to_dict()}


def save_genotype(path, genotype: Genotype, **metadata) -> None:
    path = Path(path)
    document = genotype_document(genotype, **metadata)
    if path.suffix == ".json":
        text = json.dumps(document, indent=2) + "\n"
    else:
        text = dump_yaml(document, sort_keys=False, default_flow_style=None)
    write_text_atomic(path, text)
