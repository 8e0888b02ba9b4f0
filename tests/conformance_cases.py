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
}

ALLOWED_WARNINGS: dict[str, dict[str, str]] = {}
