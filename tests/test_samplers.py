"""Every sampler honours the same interface: ask/tell/pending, save/restore, seeding, clear option errors."""

from __future__ import annotations

import pytest
from optuna.trial import TrialState

from nas.errors import ConfigError
from nas.samplers import DEFAULT_SAMPLER, SAMPLERS, Outcome, Suggestion, load_sampler, make_sampler
from nas.space.decisions import Decision

SAMPLER_NAMES = SAMPLERS.names()

DECISIONS = [
    Decision("normal.b0.input_a", ("0", "1")),
    Decision("normal.b0.op_a", ("sep_conv_3x3", "max_pool_3x3", "skip_connect", "none")),
    Decision("normal.b1.input_a", ("0", "1", "2")),
    Decision("normal.b1.op_a", ("sep_conv_3x3", "max_pool_3x3", "skip_connect", "none")),
]
# Small batches and populations so that learning steps happen within the few tells of a test.
FAST_OPTIONS = {
    "controller": {"batch_size": 2, "hidden_size": 16},
    "evolution": {"population_size": 4, "sample_size": 2},
    "tpe": {"n_startup_trials": 3},
    "nsga2": {"population_size": 4},
    "random": {},
}



def make(name: str, seed: int = 0, **options):
    return make_sampler(name, DECISIONS, seed=seed, **{**FAST_OPTIONS[name], **options})


def outcome_for(choices) -> Outcome:
    """A deterministic reward that prefers choice 0 (sep_conv_3x3) on op decisions; params grow with choices."""
    reward = sum(1 for d, c in zip(DECISIONS, choices) if d.name.endswith("op_a") and c == 0) / 2 * 0.5 + 0.25
    return Outcome("ok", reward, {"params": 1e5 * (1 + sum(choices)), "macs": 1e7})


def drive(sampler, tells: int) -> list[tuple[int, ...]]:
    asked = []
    for _ in range(tells):
        suggestion = sampler.ask()
        asked.append(suggestion.choices)
        sampler.tell(suggestion.token, outcome_for(suggestion.choices))
    return asked


def test_names_and_default():
    assert set(SAMPLER_NAMES) == {"controller", "tpe", "random", "nsga2", "evolution"}
    assert DEFAULT_SAMPLER in SAMPLER_NAMES
    assert all(SAMPLERS.get(name).name == name for name in SAMPLER_NAMES)  # the registration names the class


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_ask_tell_pending(name):
    sampler = make(name)
    assert sampler.name == name
    first, second, third = sampler.ask(), sampler.ask(), sampler.ask()  # parallel workers ask before any tell
    assert isinstance(first, Suggestion)
    assert len({first.token, second.token, third.token}) == 3
    for suggestion in (first, second, third):
        assert len(suggestion.choices) == len(DECISIONS)
        assert all(0 <= c < d.num_choices for c, d in zip(suggestion.choices, DECISIONS))
    assert [s.token for s in sampler.pending()] == sorted([first.token, second.token, third.token])
    sampler.tell(second.token, outcome_for(second.choices))  # out of order
    assert sampler.pending() == [first, third]
    with pytest.raises(ValueError, match="not pending"):
        sampler.tell(second.token, outcome_for(second.choices))
    sampler.tell(first.token, Outcome("failed"))
    sampler.tell(third.token, Outcome("diverged", costs={"params": 1.0, "macs": 1.0}))
    assert sampler.pending() == []
    drive(sampler, 8)  # keeps working after failures


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_same_seed_same_asks_and_seed_matters(name):
    assert drive(make(name, seed=3), 12) == drive(make(name, seed=3), 12)
    assert drive(make(name, seed=3), 12) != drive(make(name, seed=4), 12)


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_save_and_load_resume_with_pending_and_same_next_asks(name, tmp_path):
    sampler = make(name, seed=7)
    drive(sampler, 9)
    left = [sampler.ask(), sampler.ask()]
    path = tmp_path / "sampler.json"
    sampler.save(path)
    beside = sorted(p.name for p in tmp_path.iterdir() if p.name != "sampler.json")
    # temp files renamed away; the controller keeps its weights in one binary file that the JSON names
    assert beside == (["sampler.json.weights-4.pt"] if name == "controller" else [])

    restored = load_sampler(path)
    assert type(restored) is type(sampler)
    assert restored.pending() == left
    for pair in (sampler, restored):
        for suggestion in left:
            pair.tell(suggestion.token, outcome_for(suggestion.choices))
    assert drive(restored, 6) == drive(sampler, 6)

    fresh = make(name, seed=7)
    fresh.restore(path)
    assert fresh.pending() == left


def test_restore_refuses_another_sampler(tmp_path):
    path = tmp_path / "evolution.json"
    make("evolution").save(path)
    with pytest.raises(ConfigError, match="evolution"):
        make("random").restore(path)
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not a saved sampler"):
        load_sampler(tmp_path / "junk.json")


def test_controller_state_dict_holds_weights_optimizer_baseline_rng():
    sampler = make("controller")
    drive(sampler, 4)  # two updates with batch_size 2
    pending = sampler.ask()
    state = sampler.state_dict()
    assert {"policy", "optimizer", "baseline", "generator", "pending"} <= set(state)
    assert state["baseline"] is not None
    assert state["pending"] == [[pending.token, list(pending.choices)]]
    assert sampler.updates == 2


def test_controller_ppo_learns_the_rewarded_ops_and_saves_what_it_learnt(tmp_path):
    sampler = make("controller", algorithm="ppo", ppo_epochs=3)
    op_positions = [index for index, decision in enumerate(DECISIONS) if ".op_" in decision.name]
    before = [sampler.probabilities()[index][0] for index in op_positions]  # choice 0 is the rewarded op
    drive(sampler, 40)
    assert sampler.updates == 20
    after = [sampler.probabilities()[index][0] for index in op_positions]
    assert all(late > early + 0.3 for early, late in zip(before, after)), (before, after)
    sampler.save(tmp_path / "ppo.json")
    loaded = load_sampler(tmp_path / "ppo.json")
    assert loaded.options["algorithm"] == "ppo" and loaded.probabilities() == sampler.probabilities()


@pytest.mark.parametrize("name", ["tpe", "random", "nsga2"])
def test_optuna_study_in_sqlite_reattaches_with_pending(name, tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    sampler = make(name, seed=5, storage=url, study_name="search")
    drive(sampler, 5)
    left = [sampler.ask(), sampler.ask()]
    uninterrupted = make(name, seed=5)  # same history, in memory
    drive(uninterrupted, 5)
    [uninterrupted.ask(), uninterrupted.ask()]
    del sampler  # the process dies; the database remains

    resumed = make(name, seed=5, storage=url, study_name="search")
    assert resumed.pending() == left
    for suggestion in left:
        resumed.tell(suggestion.token, outcome_for(suggestion.choices))
        uninterrupted.tell(suggestion.token, outcome_for(suggestion.choices))
    assert drive(resumed, 4) == drive(uninterrupted, 4)
    assert len(resumed.study.trials) == 11


def test_optuna_states_for_failed_pruned_diverged():
    sampler = make("tpe")
    tokens = [sampler.ask().token for _ in range(4)]
    sampler.tell(tokens[0], Outcome("failed"))
    sampler.tell(tokens[1], Outcome("pruned", 0.4, {"params": 1e5}))
    sampler.tell(tokens[2], Outcome("diverged"))
    sampler.tell(tokens[3], Outcome("ok", 0.9, {"params": 2e5}))
    trials = sampler.study.trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.PRUNED, TrialState.COMPLETE, TrialState.COMPLETE]
    assert trials[1].value == pytest.approx(0.4)  # pruned keeps its partial accuracy for TPE to rank
    assert trials[2].value == 0.0
    assert trials[3].user_attrs["costs"] == {"params": 2e5}
    assert trials[3].params["normal.b0.op_a"] in DECISIONS[1].choices  # labels in the database, not indices


def test_nsga2_minimizes_the_chosen_cost():
    sampler = make("nsga2", cost="macs")
    suggestion = sampler.ask()
    sampler.tell(suggestion.token, Outcome("ok", 0.5, {"params": 1.0, "macs": 3.0}))
    assert sampler.study.trials[0].values == [0.5, 3.0]
    assert [d.name for d in sampler.study.directions] == ["MAXIMIZE", "MINIMIZE"]
    with pytest.raises(ConfigError, match="macs"):
        other = sampler.ask()
        sampler.tell(other.token, Outcome("ok", 0.5, {"params": 1.0}))
    with pytest.raises(ConfigError, match="params, macs"):
        make("nsga2", cost="latency")


def test_unknown_sampler_and_options_name_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown sampler 'bogus'; valid: controller.*tpe"):
        make_sampler("bogus", DECISIONS)
    with pytest.raises(ConfigError, match="no option 'learning_rat'.*learning_rate"):
        make_sampler("controller", DECISIONS, learning_rat=0.1)
    with pytest.raises(ConfigError, match="population_size"):
        make_sampler("evolution", DECISIONS, population_size="many")
    with pytest.raises(ConfigError, match="algorithm"):
        make_sampler("controller", DECISIONS, algorithm="a2c")
    with pytest.raises(ConfigError, match="study_name"):
        make_sampler("tpe", DECISIONS, storage="sqlite:///x.db")


def test_outcome_validates_status_and_reward():
    with pytest.raises(ValueError, match="status"):
        Outcome("crashed")
    with pytest.raises(ValueError, match="reward"):
        Outcome("ok")
    assert Outcome("ok", 1).reward == 1.0


def test_a_warm_start_happens_once_even_for_a_sampler_rebuilt_from_its_state():
    """A guided sampler rebuilt around a sampler that was asked before (a resumed search) warm-starts no more:
    Optuna samplers keep no token count, so the check is the sampler's own `asked`."""
    from nas.samplers.proxy_guided import ProxyGuidance, ProxyGuidedSampler  # only this test wraps a sampler

    decisions = [Decision(f"d{i}", ("a", "b", "c")) for i in range(3)]
    calls = []

    def scorer(cells):
        calls.append(len(cells))
        return [{"params": float(sum(cell))} for cell in cells]

    guidance = ProxyGuidance(proxy="params", warm_start_pool=6, warm_start_count=2)
    for name in ("tpe", "evolution", "controller"):
        sampler = make_sampler(name, decisions, seed=0)
        guided = ProxyGuidedSampler(sampler, guidance, scorer, sample=lambda rng: tuple(int(rng.integers(3)) for _ in decisions))
        first = guided.ask()
        assert sum(first.choices) == max(sum(cell) for cell in guided.scores)  # the pool's best came first
        again = ProxyGuidedSampler(sampler, guidance, scorer, sample=lambda rng: (0, 0, 0))
        assert not again._warm_start_due, name
