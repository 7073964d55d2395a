"""Training: recipes, the trainer, checkpoints."""

from nas.train.recipe import Recipe, load_recipe
from nas.train.result import TrainResult
from nas.train.trainer import train

__all__ = ["Recipe", "TrainResult", "load_recipe", "train"]
