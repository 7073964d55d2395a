"""The Optuna study in its database, kept equal to the in-memory study the adapter asks and tells on.

The adapter samples from an in-memory copy of the study (Optuna's InMemoryStorage: reading every trial costs
nothing there) and copies each change here:

- ask: the new trial, RUNNING with all its parameters and system attributes, in ONE transaction
  (`insert_running_trial`: what Optuna's `create_new_trial` with a template trial stores, in 4 ms instead of 50).
  Optuna's own `study.ask` stores the trial first and then commits each parameter on its own (about 55
  transactions over the NASNet space): a search killed in between left a RUNNING trial with parameters missing,
  which no resume could read.
- tell: the attributes and intermediate values the tell added, and the state and values, in ONE transaction
  (`finish_trial`), so a trial is either RUNNING with all its parameters (a resume runs it again) or finished
  with its whole result.
- the study's system attributes that changed. NSGA-II caches each generation's parent population there as a list
  of trial ids; the database keeps the database's ids, as Optuna's own sampler writes them, and the in-memory
  study gets trial numbers, which are its ids.

The two one-transaction writes use Optuna 5.0's private table models and session helper (Optuna's public calls
commit once per parameter or attribute); tests/test_sampler_saves.py checks that they store what Optuna's public
calls store, so an Optuna upgrade that changes its tables fails there first.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import optuna
import sqlalchemy
from optuna.storages._rdb import models
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.trial import FrozenTrial, TrialState

from nas.errors import ConfigError
from nas.samplers.sqlite_storage import database_file, open_storage, sync

FAILED_BECAUSE = "nas:failed_because"  # trial system attribute: why the adapter told a trial FAIL itself
_MISSING = object()


class StudyDatabase:
    """One study in an Optuna RDB storage, written trial by trial as described above."""

    def __init__(self, storage: optuna.storages.RDBStorage, study: optuna.Study, id_key_prefixes: Sequence[str]):
        self.storage = storage
        self.study_id = study._study_id
        self.study_name = study.study_name
        self._file: Path | None = database_file(storage.url)
        self._id_key_prefixes = tuple(id_key_prefixes)  # study system attrs that list trial ids
        self._trial_ids: dict[int, int] = {}  # trial number -> database trial id
        self._written: dict[str, Any] = {}  # the study's system attrs as the database has them, in trial numbers

    @classmethod
    def open(cls, url: str, study_name: str, directions: Sequence[str], *, who: str,
             id_key_prefixes: Sequence[str] = ()) -> "StudyDatabase":
        """Create the study or reattach to it; ConfigError (naming `who`) for what a user can fix."""
        try:
            storage = open_storage(url)
            study = optuna.create_study(storage=storage, study_name=study_name, directions=list(directions),
                                        load_if_exists=True)
        except ValueError as error:  # e.g. existing study with other directions
            raise ConfigError(f"{who}: cannot open study {study_name!r}: {error}") from None
        except ImportError as error:
            raise ConfigError(f"{who}: storage {url!r} needs a missing driver: {error}") from None
        except Exception as error:  # SQLAlchemy errors: a URL that does not parse or a database we cannot open
            if type(error).__module__.startswith("sqlalchemy"):
                raise ConfigError(f"{who}: cannot open storage {url!r}: {error}") from None
            raise
        if [d.name for d in study.directions] != [d.upper() for d in directions]:
            raise ConfigError(f"{who}: study {study_name!r} exists with other objectives")
        return cls(storage, study, id_key_prefixes)

    # --- reading, once, when the adapter opens the study ------------------------------------------------------------

    def trials(self) -> list[FrozenTrial]:
        """Every trial of the study, in number order (numbers run 0, 1, ... with no gap)."""
        trials = sorted(self.storage.get_all_trials(self.study_id, deepcopy=False), key=lambda t: t.number)
        for trial in trials:
            self._trial_ids[trial.number] = trial._trial_id
        return trials

    def study_system_attrs(self) -> dict[str, Any]:
        """The study's system attributes, trial ids turned into trial numbers (call after `trials`)."""
        stored = self.storage.get_study_system_attrs(self.study_id)
        numbers = {trial_id: number for number, trial_id in self._trial_ids.items()}
        self._written = {key: self._translate(key, value, numbers) for key, value in stored.items()}
        return copy.deepcopy(self._written)

    # --- writing ----------------------------------------------------------------------------------------------------

    def add(self, trial: FrozenTrial) -> None:
        """Store the asked `trial` (RUNNING, with all its parameters) in one transaction, as number `trial.number`.
        Another process that added trials to the study meanwhile would have taken that number: ConfigError."""
        trial_id, number = insert_running_trial(self.storage, self.study_id, trial)
        if number != trial.number:
            self._fail(trial_id, "another process added trials to the study while this one asked")
            raise ConfigError(f"study {self.study_name!r} gained trials from elsewhere (this process expected to "
                              f"write trial {trial.number}); one search per study")
        self._trial_ids[trial.number] = trial_id

    def finish(self, before: FrozenTrial, after: FrozenTrial) -> None:
        """Store what a tell changed from `before` to `after`, the trial's result, in one transaction."""
        finish_trial(self.storage, self._trial_ids[after.number], before, after)

    def report(self, number: int, step: int, value: float) -> None:
        """Store an intermediate value of the RUNNING trial `number` (one row, one transaction, not synced: a kill
        loses at most the latest epochs, which the tell stores again)."""
        self.storage.set_trial_intermediate_value(self._trial_ids[number], step, value)

    def fail(self, number: int, reason: str) -> None:
        """Tell trial `number` FAIL, with `reason` in its system attribute FAILED_BECAUSE."""
        self._fail(self._trial_ids[number], reason)

    def write_study_system_attrs(self, attrs: Mapping[str, Any]) -> None:
        """Store the study system attributes (trial numbers in lists of ids) that differ from the database's."""
        for key, value in _changed(self._written, attrs):
            self.storage.set_study_system_attr(self.study_id, key, self._translate(key, value, self._trial_ids))
            self._written[key] = copy.deepcopy(value)

    def sync(self) -> None:
        """Force the commits so far to disk (SQLite file); the adapter calls it once per ask and per tell."""
        sync(self._file)

    # --- helpers ----------------------------------------------------------------------------------------------------

    def _fail(self, trial_id: int, reason: str) -> None:
        self.storage.set_trial_system_attr(trial_id, FAILED_BECAUSE, reason)
        self.storage.set_trial_state_values(trial_id, TrialState.FAIL)

    def _translate(self, key: str, value: Any, ids: Mapping[int, int]) -> Any:
        """`value` with the trial ids it lists mapped through `ids`, if `key` is one that lists trial ids."""
        if not key.startswith(self._id_key_prefixes) or not isinstance(value, list):
            return value
        unknown = [trial_id for trial_id in value if trial_id not in ids]
        if unknown:
            raise ConfigError(f"study {self.study_name!r}: its system attribute {key!r} names trials {unknown} "
                              f"that the study does not hold")
        return [ids[trial_id] for trial_id in value]


def _changed(before: Mapping, after: Mapping):
    """The (key, value) pairs of `after` that `before` lacks or holds with another value."""
    return [(key, value) for key, value in after.items() if before.get(key, _MISSING) != value]


def insert_running_trial(storage: optuna.storages.RDBStorage, study_id: int, trial: FrozenTrial) -> tuple[int, int]:
    """Insert the RUNNING `trial` (parameters, user and system attributes) in one transaction, as Optuna's
    `create_new_trial(study_id, template_trial=trial)` does; return its database id and number.

    Optuna's own version runs two queries per parameter (the trial, then the study's first record of that
    parameter, to check its distribution): 50 ms for the NASNet space's 50 parameters here, most of an ask. This
    one inserts the rows in three statements, without that distribution check: the adapter checked the study's
    distributions against its own when it opened the study, and is its one writer.
    """
    if trial.state != TrialState.RUNNING or trial.values or trial.intermediate_values:
        raise ValueError("insert_running_trial stores a just-asked trial: RUNNING, without values")
    with _create_scoped_session(storage.scoped_session) as session:
        # Lock the study as Optuna does, so that trial numbers stay unique with several writers.
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        row = models.TrialModel(study_id=study_id, number=None, state=TrialState.RUNNING,
                                datetime_start=trial.datetime_start)
        session.add(row)
        session.flush()  # gives the row its trial id
        params = [dict(trial_id=row.trial_id, param_name=name, distribution_json=_distribution_json(distribution),
                       param_value=distribution.to_internal_repr(trial.params[name]))
                  for name, distribution in trial.distributions.items()]
        _insert_rows(session, models.TrialParamModel, params)
        for model, attrs in ((models.TrialUserAttributeModel, trial.user_attrs),
                             (models.TrialSystemAttributeModel, trial.system_attrs)):
            rows = [dict(trial_id=row.trial_id, key=key, value_json=json.dumps(value)) for key, value in attrs.items()]
            _insert_rows(session, model, rows)
        row.number = row.count_past_trials(session)
        return row.trial_id, row.number


def finish_trial(storage: optuna.storages.RDBStorage, trial_id: int, before: FrozenTrial, after: FrozenTrial) -> None:
    """Store the attributes and intermediate values `after` adds to `before`, and its state, values and completion
    time, in one transaction: what Optuna's `set_trial_user_attr` ... `set_trial_state_values` store in one each
    (a pruned trial re-told after a kill between two of those would have reported its partial reward twice)."""
    if not after.state.is_finished():
        raise ValueError("finish_trial stores a told trial: COMPLETE, PRUNED or FAIL")
    with _create_scoped_session(storage.scoped_session) as session:
        row = models.TrialModel.find_or_raise_by_id(trial_id, session, for_update=True)
        storage.check_trial_is_updatable(trial_id, row.state)
        for model, old, new in ((models.TrialUserAttributeModel, before.user_attrs, after.user_attrs),
                                (models.TrialSystemAttributeModel, before.system_attrs, after.system_attrs)):
            for key, value in _changed(old, new):
                storage._set_trial_attr_without_commit(session, model, trial_id, key, value)
        for step, value in _changed(before.intermediate_values, after.intermediate_values):
            storage._set_trial_intermediate_value_without_commit(session, trial_id, step, value)
        for objective, value in enumerate(after.values or ()):
            storage._set_trial_value_without_commit(session, row, objective, value)
        row.state = after.state
        row.datetime_complete = after.datetime_complete


def _insert_rows(session, model, rows: list[dict]) -> None:
    if rows:
        session.execute(sqlalchemy.insert(model.__table__), rows)


@functools.lru_cache(maxsize=None)
def _distribution_json(distribution) -> str:
    return optuna.distributions.distribution_to_json(distribution)
