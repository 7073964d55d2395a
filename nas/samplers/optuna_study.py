"""Samplers backed by an Optuna study driven by ask/tell: the study (in a real database) is the sampler's state.

Every decision is one `suggest_categorical` over its choice labels (indices where labels repeat), so the
database reads like the space. The token of a suggestion is its Optuna trial number.

Resume: `storage` is a SQLAlchemy URL and `study_name` names the study; building the sampler again reattaches to
the existing study (`load_if_exists`) and trials still RUNNING there are the pending asks. With `storage=None`
the study lives in memory and `state_dict` carries its trials instead.

Determinism: Optuna does not persist a sampler's random state, so each ask builds the Optuna sampler seeded from
(seed, trial number). A resumed study then asks exactly what an uninterrupted one would have asked.

Outcomes map to trial states: 'ok' -> COMPLETE; 'diverged' -> COMPLETE with reward 0 (or the reward given),
since a cell whose training blows up is a bad cell the sampler should learn to avoid; 'pruned' -> PRUNED, its
partial reward reported as an intermediate value so TPE ranks it below the completed ones; 'failed' -> FAIL,
which samplers ignore, because an error (out of memory, lost worker) says nothing about the cell.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from pathlib import Path
from typing import Any, Sequence

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from nas.errors import ConfigError
from nas.samplers.base import Outcome, Sampler, SearchContext, Suggestion
from nas.samplers.sqlite_storage import database_file, open_storage, sync
from nas.space.decisions import Decision, check_choices

# Optuna announces every study it opens; the search prints its own progress.
optuna.logging.set_verbosity(optuna.logging.WARNING)

STUDY_OPTIONS = {"storage": None, "study_name": None}
DATABASE_FILE = "optuna.db"  # in the experiment folder, unless the search names another database


class OptunaStudySampler(Sampler):
    """Shared adapter; subclasses say which Optuna sampler to build and which objectives the study has."""

    directions: tuple[str, ...] = ("maximize",)

    def __init__(self, decisions: Sequence[Decision], *, seed: int = 0, **options):
        super().__init__(decisions, seed=seed, **options)
        self._labels = [
            list(d.choices) if len(set(d.choices)) == d.num_choices else list(range(d.num_choices))
            for d in self.decisions
        ]
        self._distributions = {d.name: CategoricalDistribution(labels) for d, labels in zip(self.decisions, self._labels)}
        self._live_trials: dict[int, optuna.Trial] = {}
        self._trial_count: int | None = None  # trials in the study, counted at the first ask
        storage = self.options["storage"]
        study_name = self.options["study_name"]
        if storage is not None and study_name is None:
            raise ConfigError(f"sampler {self.name!r}: option storage needs a study_name to reattach to")
        try:
            self.study = optuna.create_study(
                storage=open_storage(storage),
                study_name=study_name,
                directions=list(self.directions),
                sampler=self._optuna_sampler(self.seed),
                load_if_exists=True,
            )
        except ValueError as error:  # e.g. existing study with other directions
            raise ConfigError(f"sampler {self.name!r}: cannot open study {study_name!r}: {error}") from None
        except ImportError as error:
            raise ConfigError(f"sampler {self.name!r}: storage {storage!r} needs a missing driver: {error}") from None
        except Exception as error:  # SQLAlchemy errors: a URL that does not parse or a database we cannot open
            if type(error).__module__.startswith("sqlalchemy"):
                raise ConfigError(f"sampler {self.name!r}: cannot open storage {storage!r}: {error}") from None
            raise
        self._database_file = database_file(storage) if storage is not None else None  # synced after ask/tell
        if [d.name for d in self.study.directions] != [d.upper() for d in self.directions]:
            raise ConfigError(f"sampler {self.name!r}: study {study_name!r} exists with other objectives")

    # --- how a search sets it up: the study lives in a database beside the experiment unless told otherwise ---

    @classmethod
    def options_for_search(cls, options: dict, context: SearchContext, *, resume: bool) -> dict:
        options = dict(options)
        options.setdefault("storage", context.database_url or default_database_url(context.folder))
        options.setdefault("study_name", context.experiment)
        if not resume:
            refuse_existing_study(options["storage"], options["study_name"])
        return options

    @classmethod
    def options_after_move(cls, context: SearchContext) -> dict:
        # The default database is the one beside the experiment's sampler file now, wherever the folder went.
        return {} if context.database_url else {"storage": default_database_url(context.folder)}

    @abstractmethod
    def _optuna_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        """The Optuna sampler, seeded."""

    def _objective_values(self, reward: float, outcome: Outcome) -> list[float]:
        return [reward]

    # --- the interface ---------------------------------------------------------------------------------------

    def ask(self) -> Suggestion:
        # The trial number the study will give is the count of its trials; this adapter is the study's only
        # writer, so count once and then keep count (a count reads every trial, a large share of a short ask).
        if self._trial_count is None:
            self._trial_count = self.study._storage.get_n_trials(self.study._study_id)
        number = self._trial_count
        self.study.sampler = self._optuna_sampler((self.seed * 1_000_003 + number) % 2**32)
        trial = self.study.ask(self._distributions)
        self._trial_count += 1
        if trial.number != number:  # another process added trials: the seed above was not this trial's
            self._trial_count = None
            raise ConfigError(f"sampler {self.name!r}: study {self.study.study_name!r} gained trials from elsewhere "
                              f"(trial {trial.number}, expected {number}); one search per study")
        self._live_trials[trial.number] = trial
        sync(self._database_file)
        return Suggestion(trial.number, self._choices(trial.params))

    def tell(self, token: int, outcome: Outcome) -> None:
        frozen = self._running_trial(token)
        # After a resume the live Trial object is gone; rebuild it from the stored trial's id.
        trial = self._live_trials.pop(token, None) or optuna.Trial(self.study, frozen._trial_id)
        if outcome.costs:  # ride along so reports can read them from the study
            trial.set_user_attr("costs", {key: float(value) for key, value in outcome.costs.items()})
        if outcome.status == "failed":
            self.study.tell(token, state=TrialState.FAIL)
        elif outcome.status == "pruned":
            if outcome.reward is not None and len(self.directions) == 1:
                trial.report(outcome.reward, step=max(frozen.intermediate_values, default=-1) + 1)
            self.study.tell(token, state=TrialState.PRUNED)
        else:
            reward = outcome.reward if outcome.reward is not None else 0.0
            self.study.tell(token, self._objective_values(reward, outcome))
        sync(self._database_file)

    def pending(self) -> list[Suggestion]:
        running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        return [Suggestion(t.number, self._choices(t.params)) for t in sorted(running, key=lambda t: t.number)]

    def state_dict(self) -> dict:
        if self.options["storage"] is not None:
            return {"study_name": self.study.study_name}  # the database holds everything else
        return {
            "trials": [_trial_to_plain(t) for t in self.study.get_trials(deepcopy=False)],
            # Samplers keep bookkeeping there too (NSGA-II: the parent population of each generation).
            "study_system_attrs": self.study._storage.get_study_system_attrs(self.study._study_id),
        }

    def load_state_dict(self, state: dict) -> None:
        if self.options["storage"] is not None:
            return
        if self.study.get_trials(deepcopy=False):
            raise ConfigError(f"sampler {self.name!r}: can only restore into a fresh in-memory study")
        for plain in state["trials"]:
            self.study.add_trial(_trial_from_plain(plain, self._distributions))
        for key, value in state.get("study_system_attrs", {}).items():
            self.study._storage.set_study_system_attr(self.study._study_id, key, value)

    # unused: this adapter overrides ask/tell directly
    def _propose(self):  # pragma: no cover
        raise NotImplementedError

    def _learn(self, suggestion, outcome):  # pragma: no cover
        raise NotImplementedError

    # --- helpers -----------------------------------------------------------------------------------------------

    def _choices(self, params: dict[str, Any]) -> tuple[int, ...]:
        return check_choices(
            self.decisions, [labels.index(params[d.name]) for d, labels in zip(self.decisions, self._labels)]
        )

    def _running_trial(self, token: int) -> optuna.trial.FrozenTrial:
        # One trial from the storage, not the whole study (a copy of every trial per tell, before).
        storage, live = self.study._storage, self._live_trials.get(token)
        frozen = None
        if live is not None:
            frozen = storage.get_trial(live._trial_id)
        elif isinstance(token, int) and token >= 0:
            try:  # after a resume: the stored trial of that number
                frozen = storage.get_trial(storage.get_trial_id_from_study_id_trial_number(self.study._study_id, token))
            except KeyError:
                pass
        if frozen is None or frozen.state != TrialState.RUNNING:
            raise ValueError(f"sampler {self.name!r}: token {token} is not pending (asked and not yet told)")
        return frozen


def default_database_url(folder) -> str:
    return f"sqlite:///{(Path(folder) / DATABASE_FILE).resolve()}"


def refuse_existing_study(storage: str, study_name: str) -> None:
    """A new experiment must not inherit another's trials from a shared Optuna database."""
    if study_name in optuna.study.get_all_study_names(storage=storage):
        raise ConfigError(f"the Optuna database {storage} already has a study named {study_name!r}; "
                          f"pass --resume to continue it or --name to start another")


def _trial_to_plain(trial: optuna.trial.FrozenTrial) -> dict:
    return {
        "state": trial.state.name,
        "params": trial.params,
        "values": trial.values,
        "intermediate_values": {str(step): value for step, value in trial.intermediate_values.items()},
        "user_attrs": trial.user_attrs,
        "system_attrs": trial.system_attrs,
    }


def _trial_from_plain(plain: dict, distributions: dict) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        state=TrialState[plain["state"]],
        params=plain["params"],
        distributions=distributions,
        values=plain["values"],
        intermediate_values={int(step): value for step, value in plain["intermediate_values"].items()},
        user_attrs=plain["user_attrs"],
        system_attrs=plain["system_attrs"],
    )


def quiet_experimental(build):
    """Build an Optuna sampler without its ExperimentalWarning (multivariate TPE): we chose it on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return build()
