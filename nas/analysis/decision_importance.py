"""Which of the search's decisions mattered for validation accuracy: Optuna's importance evaluators over the
finished trials' decisions, and a slice view of accuracy against each choice of the most important ones.

fANOVA (Optuna's FanovaImportanceEvaluator) needs scikit-learn, a dependency of the engine; an environment without
it gets Optuna's own default, PED-ANOVA, and the report names which one answered."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution
from optuna.trial import create_trial

from nas.analysis.experiment_results import SearchResults
from nas.analysis.report_plots import plt, save_figure
from nas.errors import ConfigError, GenotypeError
from nas.search.experiment_folder import space_fingerprint
from nas.space import load_space
from nas.space.genotype import Genotype

# Optuna announces every study it makes; the report makes one per search, in memory.
optuna.logging.set_verbosity(optuna.logging.WARNING)

MIN_FINISHED = 8  # fewer trials than this and any importance is noise
SLICED = 3  # decisions drawn in the slice view
SEED = 0  # the forest's seed: the same trials give the same importances
# Optuna's default depth of 64 took over 6 minutes for 1,000 trials of the 50 NASNet decisions here (200: 16 s);
# depth 8 takes 7 s (200: 3 s) and finds the same decision first in a synthetic search where one decides.
FANOVA_MAX_DEPTH = 8


@dataclass
class DecisionValues:
    """The finished trials' choice labels, one column per decision, and their validation accuracy."""

    choices: pd.DataFrame
    val_acc: pd.Series
    labels: dict[str, list[str]]  # each decision's choice labels, in the space's order


def decision_values(search: SearchResults) -> DecisionValues | None:
    """The finished trials' decisions as experiment.yaml's space_decisions name them: each trial's recorded choice
    vector, or where it has none its genotype encoded by the space (when the space file is still there and is the
    one searched). None when experiment.yaml is missing or holds no decisions."""
    decisions = search.saved.space_decisions if search.saved else None
    if not decisions:
        return None
    encode = _encoder(search.saved.space, decisions)
    labels = {name: _unique_labels(choices) for name, choices in decisions}
    rows, kept = [], []
    for index, choices, genotype in zip(search.finished.index, search.finished["choices"],
                                        search.finished["genotype"]):
        vector = choices if len(choices) == len(decisions) else encode(genotype)
        if vector is not None:
            rows.append([labels[name][choice] for (name, _), choice in zip(decisions, vector)])
            kept.append(index)
    return DecisionValues(pd.DataFrame(rows, columns=list(labels), index=kept),
                          search.finished.loc[kept, "val_acc"], labels)


def _encoder(space_file, decisions: list) -> Callable[[str], tuple[int, ...] | None]:
    """Genotype text -> its decision vector in the searched space; None for every genotype when the space file is
    gone or has changed since the search, and for a genotype the space cannot encode."""
    try:
        space = load_space(space_file) if space_file and Path(space_file).is_file() else None
    except (ConfigError, GenotypeError):
        space = None
    if space is None or space_fingerprint(space) != decisions:
        return lambda genotype: None

    def encode(genotype: str) -> tuple[int, ...] | None:
        try:
            return space.encode(Genotype.parse(genotype) if space.trainable else genotype)
        except (ConfigError, GenotypeError, ValueError):
            return None

    return encode


def _unique_labels(choices: list) -> list[str]:
    """The choices as Optuna's study names them (nas.samplers.optuna_study): labels, or indices where they repeat."""
    labels = [str(choice) for choice in choices]
    return labels if len(set(labels)) == len(labels) else [str(index) for index in range(len(labels))]


def evaluator_name() -> str:
    return "fANOVA" if importlib.util.find_spec("sklearn") else "PED-ANOVA"


def importances(values: DecisionValues) -> pd.Series:
    """Each decision's importance (they sum to 1), most important first."""
    study = optuna.create_study(direction="maximize")
    distributions = {name: CategoricalDistribution(labels) for name, labels in values.labels.items()}
    for (_, row), accuracy in zip(values.choices.iterrows(), values.val_acc):
        study.add_trial(create_trial(params=row.to_dict(), distributions=distributions, value=float(accuracy)))
    evaluator = (optuna.importance.FanovaImportanceEvaluator(max_depth=FANOVA_MAX_DEPTH, seed=SEED)
                 if evaluator_name() == "fANOVA" else optuna.importance.PedAnovaImportanceEvaluator())
    return pd.Series(optuna.importance.get_param_importances(study, evaluator=evaluator)).sort_values(
        ascending=False, kind="stable")


def plot_slices(values: DecisionValues, ranked: pd.Series, title: str, stem: Path) -> list[Path]:
    """Validation accuracy against each choice of the most important decisions: a box and the trials as dots."""
    names = list(ranked.index[:SLICED])
    figure, panels = plt.subplots(1, len(names), figsize=(4 * len(names), 4), sharey=True, squeeze=False)
    for axes, name in zip(panels[0], names):
        chosen = [label for label in values.labels[name] if (values.choices[name] == label).any()]
        groups = [values.val_acc[values.choices[name] == label].to_numpy() for label in chosen]
        axes.boxplot(groups, positions=range(len(chosen)), widths=0.5, showfliers=False)
        for position, group in enumerate(groups):
            axes.scatter([position] * len(group), group, s=14, alpha=0.6, color="tab:blue", zorder=3)
        axes.set_xticks(range(len(chosen)), chosen, rotation=45, ha="right", fontsize=8)
        axes.set_title(f"{name} (importance {ranked[name]:.2f})", fontsize=9)
        axes.grid(alpha=0.3, axis="y")
    panels[0][0].set_ylabel("validation accuracy (proxy training)")
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, stem)
