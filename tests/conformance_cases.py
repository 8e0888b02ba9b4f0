"""What the conformance suite cannot guess about an environment, one entry per registered id.

``INVALID_KWARGS``: constructor arguments that must raise ``ValueError`` whose message names the argument.
Every registered id needs at least one case; the suite fails for an id without any.

``ALLOWED_WARNINGS``: warnings an environment emits on purpose under Gymnasium's or SB3's checker,
as id -> {substring of the message: the reason it is intended}. Keep it short and justified.
"""

INVALID_KWARGS: dict[str, list[tuple[dict, str]]] = {
    "papergym/LQG-v0": [
        ({"A": [[1.0, 0.0]]}, "A"),
        ({"B": [[1.0], [2.0]]}, "B"),
        ({"R": 0.0}, "R"),
        ({"Q": -1.0}, "Q"),
        ({"noise_cov": float("nan")}, "noise_cov"),
        ({"max_action": -1.0}, "max_action"),
        ({"init_state_bound": 20.0}, "init_state_bound"),
        ({"render_mode": "human"}, "render_mode"),
    ],
    "papergym/LQG2D-v0": [
        ({"A": [[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]}, "A"),
        ({"Q": [[1.0, 2.0], [0.0, 1.0]]}, "Q"),
    ],
    # --- robust MDPs (IWOCS) ---
    "papergym/RobustCartPole-v0": [
        ({"masspole": 0.0}, "masspole"),
        ({"length": -0.5}, "length"),
        ({"force_mag": float("nan")}, "force_mag"),
        ({"uncertainty_set": {"masscart": (2.0, 1.0)}}, "uncertainty_set"),
        ({"uncertainty_set": {"gravity": (9.0, 10.0)}}, "uncertainty_set"),
        ({"render_mode": "svg"}, "render_mode"),
    ],
    "papergym/RobustPendulum-v0": [
        ({"m": -1.0}, "m"),
        ({"g": float("inf")}, "g"),
        ({"uncertainty_set": {"l": (0.0, 1.0)}}, "uncertainty_set"),
    ],
    "papergym/RobustLQG-v0": [
        ({"b_scale": 0.0}, "b_scale"),
        ({"A": [[1.0, 0.0]]}, "A"),
        ({"uncertainty_set": {"a_scale": (1.0,)}}, "uncertainty_set"),
    ],
    # --- real-time bidding (Cai et al., WSDM 2017) ---
    "papergym/RTB-v0": [
        ({"T": 0}, "T"),
        ({"c0": -1.0}, "c0"),
        ({"c0": 1e-9}, "c0"),
        ({"budget": 0}, "budget"),
        ({"max_bid": 301}, "max_bid"),
        ({"reward": "profit"}, "reward"),
        ({"episode_order": "shuffled"}, "episode_order"),
        ({"split": "holdout"}, "split"),
        ({"campaign": 42}, "campaign"),
        ({"campaign": "no/such/campaign_folder"}, "campaign"),
        ({"render_mode": "human"}, "render_mode"),
    ],
    # --- dynamical linear bandits (Mussi, Metelli & Restelli, ICML 2023) ---
    "papergym/DynamicalLinearBandit-v0": [
        ({"A": [[1.2, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.1]]}, "A"),
        ({"B": [[1.0, 0.0]]}, "B"),
        ({"D": [[0.0, 1.0]]}, "D"),
        ({"noise_std": -0.1}, "noise_std"),
        ({"actions": [[1.0, 0.5]]}, "actions"),
        ({"horizon": 0}, "horizon"),
        ({"preset": "synthetic"}, "preset"),
        ({"render_mode": "human"}, "render_mode"),
    ],
}

ALLOWED_WARNINGS: dict[str, dict[str, str]] = {
    "papergym/RobustCartPole-v0": {
        "observation space minimum value is -infinity": "CartPole's velocities are unbounded (as Gymnasium's)",
        "observation space maximum value is infinity": "CartPole's velocities are unbounded (as Gymnasium's)",
    },
}

# --- robust MDPs (IWOCS): the MuJoCo uncertainty sets ---
INVALID_KWARGS.update({
    "papergym/RobustHopper-v0": [
        ({"torsomass": 0.0}, "torsomass"),
        ({"uncertainty_set": "4d"}, "uncertainty_set"),
        ({"uncertainty_set": {"worldfriction": (3.0, 0.1)}}, "uncertainty_set"),
        ({"render_mode": "svg"}, "render_mode"),
    ],
    "papergym/RobustHalfCheetah-v0": [({"worldfriction": -1.0}, "worldfriction")],
    "papergym/RobustWalker2d-v0": [({"uncertainty_set": {"thighmass": (0.0, 6.0)}}, "uncertainty_set")],
    "papergym/RobustAnt-v0": [({"frontleftlegmass": float("nan")}, "frontleftlegmass")],
    "papergym/RobustHumanoidStandup-v0": [({"uncertainty_set": {"headmass": (1.0, 2.0)}}, "uncertainty_set")],
    "papergym/RobustInvertedPendulum-v0": [({"polemass": float("inf")}, "polemass"),
                                           ({"uncertainty_set": "3d"}, "uncertainty_set")],
})
ALLOWED_WARNINGS.update({
    f"papergym/Robust{name}-v0": {
        "observation space minimum value is -infinity": "Gymnasium's MuJoCo observations are unbounded",
        "observation space maximum value is infinity": "Gymnasium's MuJoCo observations are unbounded",
    }
    for name in ("Hopper", "HalfCheetah", "Walker2d", "Ant", "HumanoidStandup", "InvertedPendulum")
})
for _name in ("InvertedPendulum", "HumanoidStandup"):
    ALLOWED_WARNINGS[f"papergym/Robust{_name}-v0"]["symmetric and normalized"] = (
        "Gymnasium's v5 action range ([-3, 3], [-0.4, 0.4]) kept as the task defines it")
