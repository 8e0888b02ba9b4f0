"""The three-body reproduction on the contract: a tiny setting through the shared runner."""

from __future__ import annotations

import pytest

from papergym.experiments.contract import SettingsError
from papergym.experiments.runner import rebuild_report, run_reproduction
from papergym.experiments.threebody import REPRODUCTION, ThreeBodySettings

TINY = dict(initial_conditions=2, eval_steps=4, fixed_actions=(5, 9), train_timesteps=60, train_episode_steps=10,
            dqn_batch_size=16, dqn_width=16)


def test_tiny_reproduction_runs_reports_and_rebuilds(tmp_path):
    settings = REPRODUCTION.preset("quick").replace(**TINY)
    records = run_reproduction(REPRODUCTION, settings, tmp_path, workers=1, progress=False, verbose=False)
    evaluations = [r for r in records if r["kind"] == "evaluation"]
    policies = {r["policy"] for r in evaluations}
    assert policies == {"fixed a=5", "fixed a=9", "distance heuristic", "DQN"}
    assert {r["backend"] for r in evaluations} == set(settings.backends)
    # every policy runs on the same held-out systems, none of them a training system
    for policy in policies:
        for backend in settings.backends:
            conditions = [r["initial_condition"] for r in evaluations
                          if (r["policy"], r["backend"]) == (policy, backend)]
            assert conditions == [0, 1]
    same_system = {(r["policy"], r["backend"]): r for r in evaluations if r["initial_condition"] == 0}
    assert len({same_system[(policy, "hermite")]["median_action_value"] for policy in ("fixed a=5", "fixed a=9")}) == 2
    assert all(r["force_evaluations"] > 0 and r["steps"] == 4 for r in evaluations)
    # the evaluation (4 steps) is shorter than training episodes (10): the horizon's error is the final one
    assert all(r["energy_error_at_train_horizon"] == r["final_energy_error"] for r in evaluations)
    first = [r for r in evaluations if r["initial_condition"] == 0]
    fixed = {r["backend"]: r for r in first if r["policy"] == "fixed a=5"}
    coarse = {r["backend"]: r for r in first if r["policy"] == "fixed a=9"}
    assert fixed["hermite"]["force_evaluations"] > coarse["hermite"]["force_evaluations"]
    assert fixed["hermite"]["final_energy_error"] < coarse["hermite"]["final_energy_error"]
    text = (tmp_path / "report.txt").read_text()
    assert "hermite: log10 final |dE/E0|" in text and "leapfrog" in text and "DQN seed 0" in text
    assert text.startswith("Claims of") and "dqn-below-fixed-front" in text
    assert (tmp_path / "threebody_pareto.png").stat().st_size > 0
    assert rebuild_report(tmp_path, verbose=False).strip() == text.strip()


def test_user_agent_joins_the_table(tmp_path):
    changes = {**TINY, "backends": ("hermite",), "fixed_actions": (), "heuristic": False, "train_timesteps": 0,
               "agents": ("papergym.agents.threebody:DistanceHeuristic.from_env",)}
    settings = REPRODUCTION.preset("quick").replace(**changes)
    records = run_reproduction(REPRODUCTION, settings, tmp_path, workers=1, progress=False, verbose=False)
    assert {r["policy"] for r in records} == {"DistanceHeuristic.from_env"}
    assert [r["initial_condition"] for r in records] == [0, 1]


@pytest.mark.parametrize("changes", [{"backends": ("huayno",)}, {"fixed_actions": (10,)}, {"reward": "x"},
                                     {"initial_conditions": 0}, {"train_timesteps": -1}])
def test_settings_are_validated(changes):
    with pytest.raises(SettingsError, match=next(iter(changes))):
        ThreeBodySettings(**changes)


def test_presets():
    quick, paper = REPRODUCTION.preset("quick"), REPRODUCTION.preset("paper")
    assert paper.initial_conditions == 100 and paper.eval_steps == 300 and paper.train_timesteps == 100_000
    assert quick.train_timesteps < paper.train_timesteps


def test_held_out_systems_are_one_shared_stream_of_the_base_seed():
    from papergym.experiments.threebody import held_out_seed

    quick = REPRODUCTION.preset("quick")
    assert held_out_seed(quick) == held_out_seed(quick.replace(seeds=3, initial_conditions=5))
    assert held_out_seed(quick) != held_out_seed(quick.replace(seed=1))


def test_a_user_agent_sees_the_systems_of_the_fixed_units():
    """The user agent FixedEta.from_env (the middle of the grid, index 5) gives exactly the records of the
    fixed unit with action 5: the held-out systems are shared across unit kinds."""
    from papergym.experiments.contract import Unit
    from papergym.experiments.threebody import evaluate_user_agent, run_fixed

    settings = REPRODUCTION.preset("quick").replace(**{**TINY, "backends": ("leapfrog",)})
    fixed = run_fixed(settings, Unit("fixed", None, {"backend": "leapfrog", "action": 5}))
    user = evaluate_user_agent(settings, Unit("agent", None, {"agent": "papergym.agents.threebody:FixedEta.from_env",
                                                             "backend": "leapfrog"}))
    assert [r["policy"] for r in user] == ["FixedEta.from_env"] * 2
    drop = ("policy", "wall_time", "median_action_value_after_train_horizon")  # the last is NaN here
    assert [{k: v for k, v in r.items() if k not in drop} for r in user] == \
        [{k: v for k, v in r.items() if k not in drop} for r in fixed]


def test_authors_preset_evaluates_their_network_on_their_systems(tmp_path):
    from pathlib import Path

    from papergym.envs.threebody.initial_conditions import authors_initial_conditions

    weights = Path(__file__).resolve().parents[2] / "shared" / "data" / "threebody-authors" / "model_weights88.pth"
    if not weights.is_file():
        pytest.skip("the authors' released network is not in ../shared/data/threebody-authors/ (not shipped)")
    settings = REPRODUCTION.preset("authors").replace(initial_conditions=2, eval_steps=3, fixed_actions=(4,),
                                                      authors_weights=str(weights))
    records = run_reproduction(REPRODUCTION, settings, tmp_path, workers=1, progress=False, verbose=False)
    assert {r["policy"] for r in records} == {"fixed a=4", "authors' DQN (model_weights88)"}
    # the fixed value's first system is the authors' seed 0: the same as a direct run from their state
    import gymnasium as gym

    env = gym.make("papergym/ThreeBody-v0")
    env.reset(options={"state": authors_initial_conditions(0)})
    work = sum(env.step(4)[4]["force_evaluations"] for _ in range(3))
    fixed = next(r for r in records if r["policy"] == "fixed a=4" and r["initial_condition"] == 0)
    assert fixed["force_evaluations"] == work
    assert "authors-policy-below-fixed-front" in (tmp_path / "report.txt").read_text()
    with pytest.raises(SettingsError, match="authors_weights"):
        settings.replace(authors_weights=str(tmp_path / "missing.pth"))
