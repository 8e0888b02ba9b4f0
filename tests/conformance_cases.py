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
        ({"render_mode": "svg"}, "render_mode"),
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
        ({"render_mode": "svg"}, "render_mode"),
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
        ({"render_mode": "svg"}, "render_mode"),
    ],
    # --- adaptive time-stepping of the three-body problem (Saz Ulibarrena & Portegies Zwart, 2025) ---
    "papergym/ThreeBody-v0": [
        ({"backend": "huayno"}, "backend"),
        ({"action_values": [1e-3]}, "action_values"),
        ({"action_values": [1e-3, -1e-2]}, "action_values"),
        ({"action_values": [1e-3, float("nan")]}, "action_values"),
        ({"interval_yr": 0.0}, "interval_yr"),
        ({"reward": "energy"}, "reward"),
        ({"target_error": -1.0}, "target_error"),
        ({"failure_penalty": float("inf")}, "failure_penalty"),
        ({"max_energy_error": 0.0}, "max_energy_error"),
        ({"max_evaluations": 0}, "max_evaluations"),
        ({"record_wall_time": "yes"}, "record_wall_time"),
        ({"render_mode": "svg"}, "render_mode"),
    ],
    # --- suggesting breaks (Saig & Rosenfeld, ICML 2023) ---
    "papergym/Breaks-v0": [
        ({"alpha": 0.0}, "alpha"),
        ({"gamma": -0.02}, "gamma"),
        ({"delta": float("nan")}, "delta"),
        ({"beta": [0.01, 0.04, 0.09]}, "beta"),
        ({"beta": [0.01, 0.04, 0.09, 0.16, -0.25]}, "beta"),
        ({"kappa": 1.5}, "kappa"),
        ({"softmax_temperature": 0.0}, "softmax_temperature"),
        ({"batch_size": 0}, "batch_size"),
        ({"horizon": -1.0}, "horizon"),
        ({"period": 0.0}, "period"),
        ({"initial_break_rate": 1.0}, "initial_break_rate"),
        ({"dynamics": "sde"}, "dynamics"),
        ({"ratings_file": "no/such/ratings.dat"}, "ratings"),
        ({"render_mode": "svg"}, "render_mode"),
    ],
    "papergym/BreaksBandit-v0": [
        ({"max_break_rate": 1.0}, "max_break_rate"),
        ({"max_break_rate": -0.1}, "max_break_rate"),
        ({"treatments": (0.0, 1.2)}, "treatments"),
        ({"treatments": ()}, "treatments"),
        ({"discrete": "yes"}, "discrete"),
        ({"init_noise": 1.0}, "init_noise"),
        ({"render_mode": "svg"}, "render_mode"),
    ],
    # --- DTR bandit (Hu & Kallus) ---
    "papergym/DTRBandit-v0": [
        ({"preset": "star-d"}, "preset"),
        ({"noise_std": -1.0}, "noise_std"),
        ({"theta": [[1.0, 1.0, 0.0]]}, "theta"),
        ({"beta_high": [[0.5, 1.0], [1.0, 4.0]]}, "beta_high"),
        ({"dim": 2}, "dim"),
        ({"preset": "linear-gaussian", "dim": 2, "beta1": [[5.0], [0.0]]}, "beta1"),
        ({"preset": "depression", "noise1": 0.0}, "noise1"),
        ({"render_mode": "svg"}, "render_mode"),
    ],
    # --- multi-agent auctions (PettingZoo) ---
    "papergym/Auction-v0": [
        ({"n_agents": 0}, "n_agents"),
        ({"value_correlation": 1.5}, "value_correlation"),
        ({"T": 0}, "T"),
        ({"c0": -1.0}, "c0"),
        ({"c0": [0.1, 0.2]}, "c0"),
        ({"budgets": [10, 0, 10]}, "budgets"),
        ({"auction": "vickrey"}, "auction"),
        ({"reserve_price": -1}, "reserve_price"),
        ({"reward": "profit"}, "reward"),
        ({"reward": "surplus", "click_values": [1.0, -1.0, 1.0]}, "click_values"),
        ({"observe_price": "yes"}, "observe_price"),
        ({"drop_exhausted": 1}, "drop_exhausted"),
        ({"episode_order": "shuffled"}, "episode_order"),
        ({"split": "holdout"}, "split"),
        ({"max_bid": 301}, "max_bid"),
        ({"max_cycles": 0}, "max_cycles"),
        ({"campaigns": 42}, "campaigns"),
        ({"campaigns": ["no/such/campaign_folder"]}, "campaign"),
        ({"render_mode": "human"}, "render_mode"),
    ],
}

ALLOWED_WARNINGS: dict[str, dict[str, str]] = {
    "papergym/RobustCartPole-v0": {
        "observation space minimum value is -infinity": "CartPole's velocities are unbounded (as Gymnasium's)",
        "observation space maximum value is infinity": "CartPole's velocities are unbounded (as Gymnasium's)",
    },
    "papergym/Breaks-v0": {
        "symmetric and normalized Box action space": "the action is the paper's break probability, in [0, 1]",
    },
    "papergym/BreaksBandit-v0": {
        "symmetric and normalized Box action space": "the action is the paper's break probability, in [0, 0.5]",
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
