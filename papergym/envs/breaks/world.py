"""The simulated world shared by the environments and the reproduction: users, their parameters, dynamics.

A :class:`BreaksWorld` holds the population (catalogues and features), each user's effective beta, the LV
parameters and the simulation settings, and advances arrays of user states (rows of
:mod:`papergym.envs.breaks.simulation`) by event simulation (numba) or by the ODE (scipy's solve_ivp).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from papergym.core.errors import PapergymError
from papergym.core.validation import require_choice, require_int, require_real
from papergym.envs.breaks.model import (
    MAX_HORIZON,
    PAPER_BATCH_SIZE,
    PAPER_HORIZON,
    PAPER_INIT_NOISE,
    PAPER_KAPPA,
    PAPER_SOFTMAX_TEMPERATURE,
    LVParams,
    equilibrium,
    equilibrium_rate,
    integrate_ode,
    optimal_break_rate,
    require_break_rate,
)
from papergym.envs.breaks.population import (
    MOVIELENS_ITEMS,
    MOVIELENS_USERS,
    Catalogue,
    RatingsPopulation,
    build_population,
)
from papergym.envs.breaks.simulation import (
    EVENTS_SLOT,
    INTEREST_SLOT,
    NO_RATE_LIMIT,
    RATE_SLOT,
    TIME_SLOT,
    initial_states,
    run_users,
)

DYNAMICS = ("event", "ode")
USER_SPLITS = ("all", "train", "eval")
#: The paper holds out 1,000 of MovieLens 1M's 6,040 users for evaluation.
PAPER_EVAL_USERS = 1000
#: The paper's rate limiter cools down until the next multiple of half a time unit.
COOLDOWN_PERIOD = 0.5
#: Documented ranges of the world's other arguments: each bounds the memory or the work a call may ask for.
MAX_USERS = 100_000
MAX_ITEMS = 100_000
MAX_BATCH_SIZE = 1000
TEMPERATURE_RANGE = (0.01, 100.0)
#: A batch of more than BLOCK_ROWS users is simulated in blocks of BLOCK_ROWS rows, each with its own generator
#: seeded from the caller's, on numba's thread count. The blocks do not depend on the number of threads, so the
#: results are the same on any machine.
BLOCK_ROWS = 512


@dataclass(frozen=True, eq=False)
class BreaksWorld:
    """Users (a population at one kappa), the LV parameters and how time advances."""

    population: RatingsPopulation
    catalogue: Catalogue
    beta: np.ndarray
    params: LVParams
    horizon: float = PAPER_HORIZON
    batch_size: int = PAPER_BATCH_SIZE
    init_noise: float = PAPER_INIT_NOISE
    dynamics: str = "event"
    build_arguments: tuple[tuple[str, Any], ...] = ()

    def __reduce__(self):
        # Pickle the recipe, not the arrays: unpickling rebuilds the (cached) population.
        if self.build_arguments:
            return _rebuild_world, (dict(self.build_arguments),)
        return super().__reduce__()

    @classmethod
    def build(cls, *, ratings_file: str | None = None, n_users: int = MOVIELENS_USERS,
              n_items: int = MOVIELENS_ITEMS, population_seed: int = 0, kappa: float = PAPER_KAPPA,
              softmax_temperature: float = PAPER_SOFTMAX_TEMPERATURE, alpha: Any = None, beta: Any = None,
              gamma: Any = None, delta: Any = None, horizon: float = PAPER_HORIZON,
              batch_size: int = PAPER_BATCH_SIZE, init_noise: float = PAPER_INIT_NOISE,
              dynamics: str = "event") -> BreaksWorld:
        """Validate every argument, then build (or reuse, cached) the population."""
        arguments = tuple(sorted(locals().items()))
        defaults = LVParams()
        params = LVParams.from_kwargs(defaults.alpha if alpha is None else alpha,
                                      defaults.beta if beta is None else beta,
                                      defaults.gamma if gamma is None else gamma,
                                      defaults.delta if delta is None else delta)
        kappa = require_real("kappa", kappa, low=0.0, high=1.0)
        softmax_temperature = require_real("softmax_temperature", softmax_temperature, low=TEMPERATURE_RANGE[0],
                                           high=TEMPERATURE_RANGE[1])
        horizon = require_real("horizon", horizon, low=0.0, low_open=True, high=MAX_HORIZON)
        batch_size = require_int("batch_size", batch_size, low=1, high=MAX_BATCH_SIZE)
        if ratings_file is not None and not isinstance(ratings_file, str):
            ratings_file = str(ratings_file)
        population = build_population(ratings_file, require_int("n_users", n_users, low=2, high=MAX_USERS),
                                      require_int("n_items", n_items, low=2, high=MAX_ITEMS),
                                      require_int("population_seed", population_seed, low=0),
                                      softmax_temperature)
        catalogue = population.catalogue(kappa, softmax_temperature)
        return cls(population, catalogue, catalogue.effective_beta(params), params, horizon, batch_size,
                   require_real("init_noise", init_noise, low=0.0, high=1.0, high_open=True),
                   require_choice("dynamics", dynamics, DYNAMICS),
                   tuple((name, value) for name, value in arguments if name != "cls"))

    @property
    def n_users(self) -> int:
        return self.population.n_users

    @property
    def features(self) -> np.ndarray:
        return self.population.features

    def viable_users(self, p: float = 0.0) -> np.ndarray:
        """Users whose drive survives at break rate ``p`` (lambda*(p) > 0)."""
        return np.flatnonzero(equilibrium_rate(p, self.beta, self.params) > 0)

    def held_out_count(self, n_eval_users: int | None = None) -> int:
        """The number of evaluation users: the last ones of the population (default min(1000, n/6))."""
        if n_eval_users is None:
            return max(1, min(PAPER_EVAL_USERS, self.n_users // 6))
        return require_int("n_eval_users", n_eval_users, low=1, high=self.n_users - 1)

    def split_users(self, split: str = "all", n_eval_users: int | None = None) -> np.ndarray:
        """Users of a split whose drive survives without breaks: ``"train"`` (all but the last
        ``n_eval_users``), ``"eval"`` (the last ones) or ``"all"``."""
        split = require_choice("user_split", split, USER_SPLITS)
        boundary = self.n_users - self.held_out_count(n_eval_users)
        viable = self.viable_users(0.0)
        if split == "train":
            return viable[viable < boundary]
        if split == "eval":
            return viable[viable >= boundary]
        return viable

    def equilibrium_rates(self, users: np.ndarray, p: Any) -> np.ndarray:
        return equilibrium_rate(p, self.beta[users], self.params)

    def optimal_break_rates(self, users: np.ndarray) -> np.ndarray:
        return optimal_break_rate(self.beta[users], self.params)

    def start(self, users: np.ndarray, p: Any, rng: np.random.Generator) -> np.ndarray:
        """State rows at the equilibrium of break rate ``p`` times one factor (1 + noise U(-1, 1)) per user."""
        rate, interest = equilibrium(p, self.beta[users], self.params)
        scale = 1.0 + self.init_noise * rng.uniform(-1.0, 1.0, len(users))
        return initial_states(rate * scale, interest * scale)

    def advance(self, rng: np.random.Generator, states: np.ndarray, users: np.ndarray, p: Any, t_end: Any,
                rate_limit: float = NO_RATE_LIMIT, rating_sampling_rate: float = 1.0) -> np.ndarray:
        """Advance every state row (in place) to time ``t_end`` at break rates ``p`` (scalars or one per
        row); the events per row.

        With ODE dynamics the events are the expected numbers (the integral of lambda) and there is no
        rate limiter or rating feedback.
        """
        p = np.broadcast_to(np.asarray(p, dtype=np.float64), (len(users),)).copy()
        t_end = np.broadcast_to(np.asarray(t_end, dtype=np.float64), (len(users),)).copy()
        if self.dynamics == "ode":
            return self._advance_ode(states, users, p, t_end)
        users = np.asarray(users, dtype=np.int64)
        params = self.params
        arguments = (self.catalogue.rating_cdf, params.beta_array, params.alpha, params.gamma, params.delta,
                     self.batch_size, float(rate_limit), COOLDOWN_PERIOD, float(rating_sampling_rate))
        if len(users) <= BLOCK_ROWS:
            return run_users(rng, states, users, t_end, p, *arguments).astype(np.float64)
        starts = range(0, len(users), BLOCK_ROWS)
        block_rngs = [np.random.default_rng(seed) for seed in rng.integers(0, 2**63, size=len(starts))]
        events = np.zeros(len(users))

        def run_block(block: int) -> None:
            rows = slice(starts[block], starts[block] + BLOCK_ROWS)
            block_states = states[rows]  # a view: run_users advances the caller's rows in place
            events[rows] = run_users(block_rngs[block], block_states, users[rows], t_end[rows], p[rows], *arguments)

        with ThreadPoolExecutor(max_workers=min(_threads(), len(starts))) as pool:
            list(pool.map(run_block, range(len(starts))))
        return events

    def _advance_ode(self, states: np.ndarray, users: np.ndarray, p: np.ndarray, t_end: np.ndarray) -> np.ndarray:
        events = np.zeros(len(users))
        for row, user in enumerate(users):
            duration = t_end[row] - states[row, TIME_SLOT]
            if duration <= 0:
                continue
            final, events[row] = integrate_ode(states[row, [RATE_SLOT, INTEREST_SLOT]], float(p[row]),
                                               float(self.beta[user]), self.params, duration)
            states[row, [RATE_SLOT, INTEREST_SLOT]] = final
            states[row, TIME_SLOT] = t_end[row]
            states[row, EVENTS_SLOT] += events[row]
        return events

    def engagement(self, rng: np.random.Generator, users: np.ndarray, p: Any, *,
                   rate_limit: float = NO_RATE_LIMIT, start_p: Any = None) -> np.ndarray:
        """The paper's measure: events over the horizon / horizon, from the equilibrium of ``start_p``
        (by default the evaluated break rate itself)."""
        users = np.asarray(users, dtype=np.int64)
        states = self.start(users, p if start_p is None else start_p, rng)
        return self.advance(rng, states, users, p, self.horizon, rate_limit) / self.horizon


def _threads() -> int:
    """numba's thread count (NUMBA_NUM_THREADS, or numba.set_num_threads)."""
    import numba

    return numba.get_num_threads()


def _rebuild_world(arguments: dict[str, Any]) -> BreaksWorld:
    return BreaksWorld.build(**arguments)


def validated_break_rates(name: str, values: Any) -> tuple[float, ...]:
    """A non-empty tuple of distinct break probabilities in [0, 1)."""
    values = tuple(values) if not isinstance(values, (int, float)) else (values,)
    if not values:
        raise PapergymError(f"{name} must hold at least one break probability, got {values!r}")
    rates = tuple(require_break_rate(name, value) for value in values)
    if len(set(rates)) != len(rates):
        raise PapergymError(f"{name} must hold distinct break probabilities, got {list(rates)}")
    return rates
