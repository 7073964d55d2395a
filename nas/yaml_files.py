"""Reading YAML the one way the engine does: PyYAML's safe loader, with errors a user can act on.

PyYAML reads YAML 1.1, where `1.0e6` and `1e6` are strings (its floats need a dot and a signed exponent); people
write them as numbers (`lr: 1.0e6`, `weight_decay: 3e-4`), as YAML 1.2 reads them, so the loader does too.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from nas.errors import ConfigError


class EngineLoader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2's exponent floats (1e6, 1.0e6, 2.5E-3, .5e1), and refuses a mapping
    that names a key twice: PyYAML keeps the last value silently, so a config with `lr:` twice trained with the
    one its author did not look at. (Keys brought in by a `<<:` merge may be overridden, as YAML means.)"""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: construct_mapping itself refuses it
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}",
                        key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


class EngineDumper(yaml.SafeDumper):
    """SafeDumper that quotes the strings EngineLoader would read as floats (a hash such as 12345e67), so what the
    engine writes reads back the same."""


for _side in (EngineLoader, EngineDumper):
    _side.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
        list("-+0123456789."),
    )


def load_yaml_text(text: str):
    """The YAML document in `text`, as the engine reads every YAML file."""
    return yaml.load(text, Loader=EngineLoader)  # noqa: S506 - a SafeLoader subclass


def dump_yaml(data, **options) -> str:
    """`data` as YAML that `load_yaml_text` reads back unchanged (options as for yaml.safe_dump)."""
    return yaml.dump(data, Dumper=EngineDumper, **options)


def read_text_file(path, what: str = "file", error: type[Exception] = ConfigError) -> str:
    """The text of `path`; `error` names a file that is missing, unreadable or not text (a binary file)."""
    path = Path(path)
    try:
        return path.read_text()
    except OSError as problem:
        raise error(f"cannot read {what} {path}: {problem.strerror}") from None
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not a text file") from None


def read_yaml(path, what: str = "file", error: type[Exception] = ConfigError):
    """The YAML document in `path` ({} when empty); `error` names a missing file or where the YAML breaks."""
    return parse_yaml(read_text_file(path, what, error), f"{what} {path}", error)


def parse_yaml(text: str, where: str, error: type[Exception] = ConfigError):
    try:
        data = load_yaml_text(text)
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(problem, "problem", None) or str(problem).splitlines()[0]
        raise error(f"{where} is not valid YAML{at}: {reason}") from None
    except (ValueError, RecursionError) as problem:  # a number too long to read, lists nested too deep
        raise error(f"{where} is not valid YAML: {str(problem).splitlines()[0]}") from None
    return {} if data is None else data


def read_yaml_mapping(path, what: str = "file", error: type[Exception] = ConfigError) -> dict:
    data = read_yaml(path, what, error)
    if not isinstance(data, dict):
        raise error(f"{what} {path} must be a YAML mapping")
    return data
