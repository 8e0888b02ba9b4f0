"""IWOCS (Incremental Worst-Case Search; Zouitine, Geist & Rachelson, 2024) and its baselines.

* :class:`IWOCS` (:mod:`.iwocs`) solves a robust MDP with a static uncertainty set as a sequence of
  ordinary RL problems: it keeps a growing set of transition models, each solved by an SB3 algorithm, and
  adds at every iteration the model on which the current robust policy does worst, found by CMA-ES
  (:mod:`.search`). Its members' critics are read by :mod:`.critics`, and which members count is decided by
  the dynamics indicator of :mod:`.indicator`.
* Baselines (:mod:`.baselines`): :func:`train_on_params` (the nominal agent, or the agent trained on any
  fixed model, e.g. the worst corner found by :func:`worst_corner`) and :func:`train_domain_randomization`.
* Evaluation on given models and on a grid over the set (:mod:`.evaluation`): :func:`evaluate_params`,
  :func:`evaluate_grid`.
* Model-based reference controllers that know the parameters (:mod:`.controllers`: :class:`CartPoleLQR`,
  :class:`PendulumSwingUp`, and ``papergym.agents.lqg.LQROptimal`` for RobustLQG), used to show that
  every corner of the default uncertainty sets is solvable.

Importing this package loads neither torch nor SB3 (they are imported where an SB3 agent is built or read).
"""

from papergym.agents.robust.baselines import train_domain_randomization, train_on_params, worst_corner
from papergym.agents.robust.controllers import CartPoleLQR, PendulumSwingUp
from papergym.agents.robust.critics import action_values, critic_values
from papergym.agents.robust.evaluation import Episode, GridEvaluation, evaluate_grid, evaluate_params
from papergym.agents.robust.indicator import INDICATOR_FEATURES, TransitionModel
from papergym.agents.robust.iwocs import IWOCS, IterationRecord, Member
from papergym.agents.robust.search import SearchResult, cma_worst_case

__all__ = [
    "INDICATOR_FEATURES",
    "IWOCS",
    "CartPoleLQR",
    "Episode",
    "GridEvaluation",
    "IterationRecord",
    "Member",
    "PendulumSwingUp",
    "SearchResult",
    "TransitionModel",
    "action_values",
    "cma_worst_case",
    "critic_values",
    "evaluate_grid",
    "evaluate_params",
    "train_domain_randomization",
    "train_on_params",
    "worst_corner",
]
