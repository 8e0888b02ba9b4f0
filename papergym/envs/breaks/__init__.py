"""Suggesting breaks (Saig & Rosenfeld, ICML 2023): user engagement as Lotka-Volterra dynamics."""

from papergym.envs.breaks.bandit import BreaksBanditEnv
from papergym.envs.breaks.breaks import BreaksEnv, BreaksVectorEnv
from papergym.envs.breaks.model import (
    MAX_BREAK_RATE,
    PAPER_TREATMENTS,
    LVParams,
    churns,
    curve_coefficients,
    equilibrium,
    equilibrium_rate,
    integrate_ode,
    ode_engagement,
    optimal_break_rate,
)
from papergym.envs.breaks.population import (
    Ratings,
    RatingsPopulation,
    SyntheticRatings,
    build_population,
    load_movielens_100k_ratings,
    load_movielens_ratings,
    load_ratings,
    ratings_format,
)
from papergym.envs.breaks.world import BreaksWorld

__all__ = ["MAX_BREAK_RATE", "PAPER_TREATMENTS", "BreaksBanditEnv", "BreaksEnv", "BreaksVectorEnv", "BreaksWorld",
           "LVParams", "Ratings", "RatingsPopulation", "SyntheticRatings", "build_population", "churns",
           "curve_coefficients", "equilibrium", "equilibrium_rate", "integrate_ode", "load_movielens_100k_ratings",
           "load_movielens_ratings", "load_ratings", "ode_engagement", "optimal_break_rate", "ratings_format"]
