"""The built-in zero-cost proxies, one family per module; each module registers its proxies on import."""
