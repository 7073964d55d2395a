"""What an experiment folder must satisfy after any fault: the fault-injection tests and benchmarks/soak.py check
a finished search with `audit_experiment`.

- The table: one row per trial (trial_id, token and cell hash each unique), every row that is not `ok` carries
  its reason, every `ok` row an accuracy.
- The sampler, reloaded from the folder as a resume would: nothing it asked is still pending, and every token
  it handed out is either a row or a cell already in the table (a proposal the stored result answered), or, in
  an Optuna study, an ask its driver died writing, which the resume failed. That count of answered proposals is
  what a search prints; here it is derived, so nothing asked can go missing.
- What the sampler learnt agrees with the table: an Optuna study holds one trial per token, each in the state
  its row (or its cell's row) implies; evolution and the controller count the results they learnt from (all
  but failures), which must lie between the table's non-failed rows and those plus the answered proposals.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from nas.samplers import load_sampler, sampler_class
from nas.samplers.study_database import FAILED_BECAUSE
from nas.search.experiment_config import config_from_dict
from nas.search.experiment_folder import ExperimentPaths
from nas.search.sampler_setup import search_context
from nas.search.trial_store import TrialRecord, TrialStore
from nas.space import load_space
from nas.yaml_files import read_yaml

OPTUNA_STATE = {"ok": "COMPLETE", "diverged": "COMPLETE", "failed": "FAIL", "pruned": "PRUNED"}


@dataclass
class Audit:
    rows: int = 0
    statuses: Counter = field(default_factory=Counter)
    asked: int = 0  # tokens the sampler handed out
    answered_from_store: int = 0  # proposals of cells already in the table
    abandoned: int = 0  # asks half-written when their driver died, failed on resume (Optuna samplers)
    pending: list[int] = field(default_factory=list)  # asked, never answered: lost unless a search is running
    unaccounted: list[int] = field(default_factory=list)  # answered, but neither a row nor a cell of one
    problems: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return len(self.pending) + len(self.unaccounted)


def audit_experiment(folder) -> Audit:
    paths = ExperimentPaths(Path(folder))
    saved = read_yaml(paths.config, "experiment file")
    config = config_from_dict(saved["config"])
    space = load_space(config.space)
    records = TrialStore(paths.root).records
    audit = Audit(rows=len(records), statuses=Counter(record.status for record in records))
    audit.problems += table_problems(records)
    options = sampler_class(config.sampler).options_after_move(config.sampler_options, search_context(config, paths))
    sampler = load_sampler(paths.sampler, **options)
    if hasattr(sampler, "study"):
        _audit_study(audit, sampler, space, records)
    else:
        _audit_told(audit, sampler, records)
    return audit


def table_problems(records: list[TrialRecord]) -> list[str]:
    problems = [f"{key} {value!r} appears {count} times" for key in ("trial_id", "token", "hash")
                for value, count in Counter(getattr(record, key) for record in records).items() if count > 1]
    for record in records:
        if record.status != "ok" and not record.error:
            problems.append(f"trial {record.token} is {record.status} without a reason")
        if record.status == "ok" and record.val_acc is None:
            problems.append(f"trial {record.token} is ok without an accuracy")
    return problems


def _audit_study(audit: Audit, sampler, space, records: list[TrialRecord]) -> None:
    """Every study trial is a row, or a proposal of a cell in the table answered with that row's result."""
    by_token, by_hash = {r.token: r for r in records}, {r.hash: r for r in records}
    trials = sampler.study.get_trials(deepcopy=False)
    audit.asked = len(trials)
    for trial in trials:
        if trial.state.name == "RUNNING":
            audit.pending.append(trial.number)
            continue
        if FAILED_BECAUSE in trial.system_attrs and trial.number not in by_token:
            audit.abandoned += 1  # an ask its driver died writing, failed by the next resume: never a trial
            continue
        record = by_token.get(trial.number)
        if record is None:
            cell = space.canonical_key(space.decode(sampler._choices(trial.params)))  # the adapter's own mapping
            record = by_hash.get(cell)
            if record is None:
                audit.unaccounted.append(trial.number)
                audit.problems.append(f"study trial {trial.number} is neither a row nor a cell of one")
                continue
            audit.answered_from_store += 1
        if trial.state.name != OPTUNA_STATE[record.status]:
            audit.problems.append(f"study trial {trial.number} is {trial.state.name}, its row {record.status}")
    _check_tokens(audit, records)


def _audit_told(audit: Audit, sampler, records: list[TrialRecord]) -> None:
    """Samplers of our own: tokens handed out, and how many results they learnt from."""
    state = sampler.state_dict()
    audit.asked = int(state["next_token"])
    audit.pending = [suggestion.token for suggestion in sampler.pending()]
    audit.answered_from_store = audit.asked - audit.rows - len(audit.pending)
    if audit.answered_from_store < 0:
        audit.problems.append(f"{audit.rows} rows, but the sampler handed out only {audit.asked} tokens")
    _check_tokens(audit, records)
    learnt = learnt_from(sampler, state)
    if learnt is None:
        return
    least = sum(record.status != "failed" for record in records)  # failures teach these samplers nothing
    if not least <= learnt <= least + max(audit.answered_from_store, 0):
        audit.problems.append(f"the sampler learnt from {learnt} results; the table has {least} that are not "
                              f"failures and {audit.answered_from_store} proposals answered from it")


def learnt_from(sampler, state: dict) -> int | None:
    """How many results the sampler took into account, where it says (None: it does not)."""
    if "told" in state:  # evolution
        return int(state["told"])
    if "updates" in state:  # the controller: one update per batch_size results, the rest waiting in its batch
        return int(state["updates"]) * sampler.batch_size + len(state["batch"])
    return None


def _check_tokens(audit: Audit, records: list[TrialRecord]) -> None:
    strays = sorted(record.token for record in records if not 0 <= record.token < audit.asked)
    if strays:
        audit.problems.append(f"rows with tokens the sampler never handed out: {strays}")
