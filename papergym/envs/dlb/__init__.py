"""Dynamical linear bandits (Mussi, Metelli & Restelli, ICML 2023): rewards driven by a hidden linear state."""

from papergym.envs.dlb.dlb import (
    PAPER_HORIZON,
    DynamicalLinearBanditEnv,
    DynamicalLinearBanditVectorEnv,
    dlb_spaces,
)
from papergym.envs.dlb.model import (
    DEFAULT_PRESET,
    DLBModel,
    budget_allocations,
    expert_allocation,
    preset_kwargs,
    preset_names,
    preset_system,
    spectral_radius,
    transient_constant,
)

__all__ = ["DEFAULT_PRESET", "PAPER_HORIZON", "DLBModel", "DynamicalLinearBanditEnv",
           "DynamicalLinearBanditVectorEnv", "budget_allocations", "dlb_spaces", "expert_allocation", "preset_kwargs",
           "preset_names", "preset_system", "spectral_radius", "transient_constant"]
