"""Samplers backed by an Optuna study driven by ask/tell: the study (in a real database) is the sampler's state.

Every decision is one `suggest_categorical` over its choice labels (indices where labels repeat), so the
database reads like the space. The token of a suggestion is its Optuna trial number.

The adapter asks and tells on a study in memory (`self.study`). With `storage` (a SQLAlchemy URL) and
`study_name`, a `StudyDatabase` holds the same trials: each ask writes its trial there whole, in one transaction,
and each tell copies its result (study_database.py). Building the sampler again reattaches to the existing study:
the in-memory study is filled from the database's trials, and trials still RUNNING there are the pending asks. A
RUNNING trial that is not a whole suggestion of the space (a search killed while an older version wrote it
parameter by parameter) is told FAIL on the way, with the reason in its system attribute `nas:failed_because`.
With `storage=None` there is no database and `state_dict` carries the trials instead.

Determinism: Optuna does not persist a sampler's random state, so each ask builds the Optuna sampler seeded from
(seed, trial number). A resumed study then asks exactly what an uninterrupted one would have asked.

Each epoch's validation accuracy is the trial's intermediate value at step = epoch (1, 2, ...), as
`trial.report` records it (single-objective studies only, as there): while the candidate trains where the search
passes epochs on (`report_epoch`), and at the tell from the outcome's curve otherwise. The costs are user
attributes, one number each (`params`, `macs`), so optuna-dashboard draws learning curves and sorts by cost.

Outcomes map to trial states: 'ok' -> COMPLETE; 'diverged' -> COMPLETE with reward 0 (or the reward given),
since a cell whose training blows up is a bad cell the sampler should learn to avoid; 'pruned' -> PRUNED, its
partial reward an intermediate value (its curve's last epoch) so TPE ranks it below the completed ones;
'failed' -> FAIL, which samplers ignore, because an error (out of memory, lost worker) says nothing about the cell.
"""

from __future__ import annotations

import contextlib
import datetime
import warnings
from abc import abstractmethod
from pathlib import Path
from typing import Any, Sequence

import optuna
import sqlalchemy
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from nas.atomic_files import check_writable_file
from nas.errors import ConfigError
from nas.run_status import Status
from nas.samplers.base import Outcome, Sampler, SearchContext, Suggestion
from nas.samplers.sqlite_storage import database_file
from nas.samplers.study_database import FAILED_BECAUSE, StudyDatabase
from nas.space.decisions import Decision, check_choices

# Optuna announces every study it opens; the search prints its own progress.
optuna.logging.set_verbosity(optuna.logging.WARNING)

# storage: a SQLAlchemy URL (None: SQLite in the experiment folder); study_name: None for the experiment's name.
STUDY_OPTIONS = {"storage": None, "study_name": None}
DATABASE_FILE = "optuna.db"  # in the experiment folder, unless the search names another database


class OptunaStudySampler(Sampler):
    """Shared adapter; subclasses say which Optuna sampler to build and which objectives the study has."""

    directions: tuple[str, ...] = ("maximize",)
    place_options = tuple(STUDY_OPTIONS)
    moved_config_keys = {"optuna_storage": "storage"}

    def __init__(self, decisions: Sequence[Decision], *, seed: int = 0, **options):
        super().__init__(decisions, seed=seed, **options)
        self._labels = {
            d.name: list(d.choices) if len(set(d.choices)) == d.num_choices else list(range(d.num_choices))
            for d in self.decisions
        }
        self._distributions = {name: CategoricalDistribution(labels) for name, labels in self._labels.items()}
        storage, study_name = self.options["storage"], self.options["study_name"]
        if storage is not None and study_name is None:
            raise ConfigError(f"sampler {self.name!r}: option storage needs a study_name to reattach to")
        self.study = optuna.create_study(  # in memory: every ask and tell happens here first
            study_name=study_name, directions=list(self.directions), sampler=self._optuna_sampler(self.seed)
        )
        self._database: StudyDatabase | None = None
        self._out_of_step = False  # a write to the database failed: it no longer holds what self.study holds
        if storage is not None:
            self._database = StudyDatabase.open(storage, study_name, self.directions, who=f"sampler {self.name!r}",
                                                id_key_prefixes=_trial_id_key_prefixes(self.study.sampler))
            self._load_database()

    # --- how a search sets it up: the study lives in a database beside the experiment unless told otherwise ---

    @classmethod
    def check_places(cls, places) -> None:
        check_database_url(places.get("storage"), f"sampler {cls.name!r}: option storage")

    @classmethod
    def options_for_search(cls, options: dict, context: SearchContext, *, resume: bool) -> dict:
        options = dict(options)
        options.setdefault("storage", default_database_url(context.folder))
        options.setdefault("study_name", context.experiment)
        if not resume:
            if options["storage"] == default_database_url(context.folder):
                # A new experiment's own database holding its study: a start killed before experiment.yaml was
                # written (trials only run after it is), so the study holds no results and is made again.
                discard_study(options["storage"], options["study_name"])
            else:
                refuse_existing_study(options["storage"], options["study_name"])
        return options

    @classmethod
    def options_after_move(cls, options, context: SearchContext) -> dict:
        # The default database is the one beside the experiment's sampler file now, wherever the folder went.
        return {} if "storage" in options else {"storage": default_database_url(context.folder)}

    @abstractmethod
    def _optuna_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        """The Optuna sampler, seeded."""

    def _objective_values(self, reward: float, outcome: Outcome) -> list[float]:
        return [reward]

    # --- the interface ---------------------------------------------------------------------------------------

    def ask(self) -> Suggestion:
        self._check_in_step()
        storage, study_id = self.study._storage, self.study._study_id
        number = storage.get_n_trials(study_id)  # the number the new trial gets: the study has no other writer
        self.study.sampler = self._optuna_sampler((self.seed * 1_000_003 + number) % 2**32)
        if self._queued:  # a warm start's candidate: trial `number` is made WAITING with its params, and asked
            self.study.enqueue_trial(self._params(self._queued[0]))
        trial = storage.get_trial(self._ask_in_memory(number)._trial_id)
        if self._queued:
            self._queued.pop(0)
        if self._database is not None:
            with self._keeping_step():
                # Study attrs first: NSGA-II's parent cache, if this ask made it, must be there for the trial.
                self._database.write_study_system_attrs(storage.get_study_system_attrs(study_id))
                self._database.add(trial)
                self._database.sync()
        return Suggestion(trial.number, self._choices(trial.params))

    def tell(self, token: int, outcome: Outcome) -> None:
        self._check_in_step()
        storage, trial_id = self.study._storage, self._running_trial_id(token)
        before = storage.get_trial(trial_id)  # the in-memory storage replaces a trial it changes: this one stays
        state, values = self._state_and_values(outcome)
        if outcome.costs:  # ride along so reports can read them from the study
            storage.set_trial_user_attr(trial_id, "costs", {key: float(value) for key, value in outcome.costs.items()})
            for key, value in outcome.costs.items():  # and one number each: the dashboard sorts trials by these
                storage.set_trial_user_attr(trial_id, key, float(value))
        if self._reports_curves:
            for epoch, val_acc in enumerate(outcome.curve, start=1):  # the epochs report_epoch did not see
                if epoch not in before.intermediate_values:
                    storage.set_trial_intermediate_value(trial_id, epoch, val_acc)
        if state == TrialState.PRUNED and outcome.reward is not None and not outcome.curve and self._reports_curves:
            step = max(before.intermediate_values, default=-1) + 1
            storage.set_trial_intermediate_value(trial_id, step, outcome.reward)
        if outcome.note:  # why a FAIL says nothing about the cell (screened out, never trained)
            storage.set_trial_system_attr(trial_id, FAILED_BECAUSE, outcome.note)
        self.study.tell(token, values, state=state)
        if self._database is not None:
            with self._keeping_step():
                self._database.finish(before, storage.get_trial(trial_id))
                self._database.write_study_system_attrs(storage.get_study_system_attrs(self.study._study_id))
                self._database.sync()

    def report_epoch(self, token: int, epoch: int, val_acc: float) -> None:
        """The intermediate value at step `epoch`, as `trial.report(val_acc, epoch)` records it: the dashboard's
        learning curve of a trial still training."""
        self._check_in_step()
        trial_id = self._running_trial_id(token)
        if not self._reports_curves:
            return
        self.study._storage.set_trial_intermediate_value(trial_id, int(epoch), float(val_acc))
        if self._database is not None:
            with self._keeping_step():
                self._database.report(token, int(epoch), float(val_acc))

    @property
    def asked(self) -> int:
        return len(self.study.get_trials(deepcopy=False))  # the study's trials are its asks (it keeps no token count)

    def pending(self) -> list[Suggestion]:
        running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        return [Suggestion(t.number, self._choices(t.params)) for t in sorted(running, key=lambda t: t.number)]

    def state_dict(self) -> dict:
        queued = {"queued": [list(choices) for choices in self._queued]}  # a warm start's cells not asked yet
        if self._database is not None:
            return {"study_name": self.study.study_name, **queued}  # the database holds everything else
        return {
            "trials": [_trial_to_plain(t) for t in self.study.get_trials(deepcopy=False)],
            # Samplers keep bookkeeping there too (NSGA-II: the parent population of each generation).
            "study_system_attrs": self.study._storage.get_study_system_attrs(self.study._study_id),
            **queued,
        }

    def load_state_dict(self, state: dict) -> None:
        self._queued = [tuple(choices) for choices in state.get("queued", [])]
        if self._database is not None:
            return
        if self.study.get_trials(deepcopy=False):
            raise ConfigError(f"sampler {self.name!r}: can only restore into a fresh in-memory study")
        for plain in state["trials"]:
            self.study.add_trial(_trial_from_plain(plain, self._distributions))
        self._set_study_system_attrs(state.get("study_system_attrs", {}))

    # unused: this adapter overrides ask/tell directly
    def _propose(self):  # pragma: no cover
        raise NotImplementedError

    def _learn(self, suggestion, outcome):  # pragma: no cover
        raise NotImplementedError

    # --- opening a study from its database -------------------------------------------------------------------------

    def _load_database(self) -> None:
        """Fill the in-memory study with the database's trials, in number order, and its system attributes."""
        for trial in self._database.trials():
            self._refuse_other_space(trial)
            problem = self._misfit(trial)
            if problem is not None and trial.state == TrialState.RUNNING:
                # A half-written ask can never be run: fail it, and the search simply asks anew.
                reason = f"the adapter found this RUNNING trial incomplete on opening the study: {problem}"
                self._database.fail(trial.number, reason)
                trial = _failed(trial, reason)
            elif problem is not None and trial.state != TrialState.FAIL:
                raise ConfigError(f"sampler {self.name!r}: trial {trial.number} ({trial.state.name}) of study "
                                  f"{self.study.study_name!r} does not fit this search space: {problem}")
            self.study.add_trial(self._fitting_part(trial))
        self._set_study_system_attrs(self._database.study_system_attrs())
        self._database.sync()

    def _refuse_other_space(self, trial: FrozenTrial) -> None:
        # Optuna itself refuses to store a parameter under another distribution than the study's first one.
        for name, distribution in trial.distributions.items():
            if name in self._distributions and distribution != self._distributions[name]:
                raise ConfigError(
                    f"sampler {self.name!r}: study {self.study.study_name!r} was made over another search space: "
                    f"decision {name!r} has choices {list(distribution.choices)} there, "
                    f"{self._labels[name]} here; give this search another study (--name)"
                )

    def _misfit(self, trial: FrozenTrial) -> str | None:
        """Why `trial`'s parameters are not one suggestion of this space; None when they are."""
        labels = self._labels
        missing = [name for name in labels if name not in trial.params]
        unknown = [name for name in trial.params if name not in labels]
        foreign = [name for name, value in trial.params.items() if name in labels and value not in labels[name]]
        problems = [(missing, "no value for"), (unknown, "no such decision"), (foreign, "a value not among the labels")]
        problems = [f"{what}: {', '.join(names)}" for names, what in problems if names]
        return "; ".join(problems) or None

    def _fitting_part(self, trial: FrozenTrial) -> FrozenTrial:
        """`trial` with only the parameters this space can hold (all of them, unless it is a FAIL trial)."""
        params = {name: value for name, value in trial.params.items()
                  if name in self._labels and value in self._labels[name]}
        return _copy_trial(trial, params=params, distributions={name: self._distributions[name] for name in params})

    def _set_study_system_attrs(self, attrs: dict) -> None:
        for key, value in attrs.items():
            self.study._storage.set_study_system_attr(self.study._study_id, key, value)

    # --- helpers -----------------------------------------------------------------------------------------------

    @property
    def _reports_curves(self) -> bool:
        # Optuna's trial.report refuses multi-objective studies (their samplers would misread the values).
        return len(self.directions) == 1

    def _params(self, choices: Sequence[int]) -> dict[str, Any]:
        return {d.name: self._labels[d.name][choice] for d, choice in zip(self.decisions, choices)}

    def _choices(self, params: dict[str, Any]) -> tuple[int, ...]:
        return check_choices(self.decisions, [self._labels[d.name].index(params[d.name]) for d in self.decisions])

    def _state_and_values(self, outcome: Outcome) -> tuple[TrialState | None, list[float] | None]:
        """What `study.tell` gets for `outcome` (state None: COMPLETE, or FAIL if Optuna finds the values invalid)."""
        if outcome.status == Status.FAILED:
            return TrialState.FAIL, None
        if outcome.status == Status.PRUNED:
            return TrialState.PRUNED, None
        return None, self._objective_values(outcome.reward if outcome.reward is not None else 0.0, outcome)

    def _ask_in_memory(self, number: int) -> optuna.Trial:
        try:
            return self.study.ask(self._distributions)
        except BaseException:  # interrupted between two parameters: that trial must never count as pending
            storage = self.study._storage
            if storage.get_n_trials(self.study._study_id) > number:
                storage.set_trial_state_values(storage.get_trial_id_from_study_id_trial_number(
                    self.study._study_id, number), TrialState.FAIL)
                self._out_of_step = self._database is not None  # the database never got that trial number
            raise

    def _running_trial_id(self, token: int) -> int:
        storage, study_id = self.study._storage, self.study._study_id
        if isinstance(token, int) and 0 <= token < storage.get_n_trials(study_id):
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, token)
            if storage.get_trial(trial_id).state == TrialState.RUNNING:
                return trial_id
        raise ValueError(f"sampler {self.name!r}: token {token} is not pending (asked and not yet told)")

    def _check_in_step(self) -> None:
        if self._out_of_step:
            raise ConfigError(f"sampler {self.name!r}: a write to study {self.study.study_name!r} failed, so the "
                              f"database no longer holds what this sampler holds; build the sampler again (resume)")

    @contextlib.contextmanager
    def _keeping_step(self):
        """Writes to the database: if one fails, the in-memory study has moved on without it."""
        try:
            yield
        except BaseException:
            self._out_of_step = True
            raise


def _trial_id_key_prefixes(sampler: optuna.samplers.BaseSampler) -> tuple[str, ...]:
    """The study system attributes in which `sampler` keeps trial ids (NSGA-II: each generation's parents)."""
    if isinstance(sampler, optuna.samplers.BaseGASampler):
        return (sampler._get_parent_cache_key_prefix(),)
    return ()


def _copy_trial(trial: FrozenTrial, **changes) -> FrozenTrial:
    fields = dict(
        number=trial.number, state=trial.state, value=None, values=trial.values,
        datetime_start=trial.datetime_start, datetime_complete=trial.datetime_complete, params=trial.params,
        distributions=trial.distributions, user_attrs=trial.user_attrs, system_attrs=trial.system_attrs,
        intermediate_values=trial.intermediate_values, trial_id=trial._trial_id,
    )
    return FrozenTrial(**{**fields, **changes})


def _failed(trial: FrozenTrial, reason: str) -> FrozenTrial:
    return _copy_trial(trial, state=TrialState.FAIL, values=None, datetime_complete=datetime.datetime.now(),
                       system_attrs={**trial.system_attrs, FAILED_BECAUSE: reason})


def check_database_url(url, what: str) -> None:
    """A URL SQLAlchemy can read, of a database kind it knows; a SQLite file where it could be written."""
    if url is None:
        return
    try:
        parsed = sqlalchemy.engine.make_url(url)
        parsed.get_dialect()
    except sqlalchemy.exc.ArgumentError as error:
        raise ConfigError(f"{what} {url!r} is not a database URL ({error}); e.g. sqlite:///path/optuna.db or "
                          f"postgresql://user@host/db") from None
    file = database_file(url)
    if file is not None:
        check_writable_file(file, what)


def default_database_url(folder) -> str:
    return f"sqlite:///{(Path(folder) / DATABASE_FILE).resolve()}"


def discard_study(storage: str, study_name: str) -> None:
    if study_name in optuna.study.get_all_study_names(storage=storage):
        optuna.delete_study(study_name=study_name, storage=storage)


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
