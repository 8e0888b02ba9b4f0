"""DTR bandit (Hu & Kallus, arXiv 2005.02791): two-stage treatment regimes learned while treating patients."""

from papergym.envs.dtr.dtr import DTRBanditEnv, DTRBanditVectorEnv, dtr_spaces
from papergym.envs.dtr.model import (
    DEFAULT_PRESET,
    PRESETS,
    BetaMixtureModel,
    DepressionModel,
    DTRModel,
    LinearGaussianModel,
    Patients,
    make_model,
)

__all__ = ["DEFAULT_PRESET", "PRESETS", "BetaMixtureModel", "DTRBanditEnv", "DTRBanditVectorEnv", "DTRModel",
           "DepressionModel", "LinearGaussianModel", "Patients", "dtr_spaces", "make_model"]
