"""Search spaces, decisions and genotypes: pure Python, no torch."""

from nas.space.base import SPACES, SearchSpace, load_space, register_space, space_from_config

__all__ = ["SPACES", "SearchSpace", "load_space", "register_space", "space_from_config"]
