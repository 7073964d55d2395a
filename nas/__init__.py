"""Neural architecture search engine: NASNet-style cell spaces, samplers, Ray Tune orchestration."""

__version__ = "0.1.0"
