"""The built-in synthetic campaign: realistic, correlated market prices and pCTRs with no download.

Each auction request has a latent quality z ~ N(0, 1). Its predicted click-through rate is log-normal
around the campaign's CTR and its market price log-normal, correlated with z (valuable impressions
cost more), and the click is drawn from the pCTR (a calibrated CTR model):

    pctr  = min(1, ctr * exp(sigma_theta * z - sigma_theta^2 / 2))          (mean ctr)
    price = min(300, floor(exp(mu_p + sigma_p * (rho * z + sqrt(1 - rho^2) * e))))   e ~ N(0, 1)
    click ~ Bernoulli(pctr)

The defaults are the medians over the nine iPinYou campaigns of the paper (1458, 2259, 2261, 2821,
2997, 3358, 3386, 3427, 3476), measured on their shared statistics:

* ``ctr = 7.29e-4``: clk_train / imp_train of ``info.json`` (range 3.0e-4 .. 4.4e-3);
* ``price_log_mean = 4.07``, ``price_log_sd = 0.88``: mean and standard deviation of log(price) of
  the training price histograms ``price_counter_train`` (ranges 3.64 .. 4.22 and 0.84 .. 1.15; the
  resulting CPM, about 80, sits in the campaigns' range 63 .. 93);
* ``pctr_log_sd = 0.91``: standard deviation of log(pctr) in the validation episodes
  (range 0.57 .. 2.25);
* ``price_pctr_correlation = 0.15``: Spearman correlation of pctr and market price in the validation
  episodes (range 0.09 .. 0.40).

The training statistics of the synthetic campaign (imp/clk/cost_train, price_counter_train) are
computed from its own training log, as the paper computes them from iPinYou's training log.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from papergym.core.validation import require_int, require_positive, require_real
from papergym.envs.rtb.campaign import MAX_PRICE, BidLog, Campaign, statistics_from_log

SYNTHETIC_CTR = 7.29e-4
SYNTHETIC_PRICE_LOG_MEAN = 4.07
SYNTHETIC_PRICE_LOG_SD = 0.88
SYNTHETIC_PCTR_LOG_SD = 0.91
SYNTHETIC_PRICE_PCTR_CORRELATION = 0.15


@dataclass(frozen=True)
class SyntheticCampaign:
    """The recipe of a synthetic campaign; ``build()`` draws its logs (cached, deterministic in ``seed``).

    Logs: ``train`` (``n_train`` requests, also the source of the training statistics), ``validation``
    (``n_validation_episodes`` independent blocks of ``validation_episode_length`` requests, like the
    iPinYou validation files) and ``test`` (``n_test`` consecutive requests).
    """

    ctr: float = SYNTHETIC_CTR
    pctr_log_sd: float = SYNTHETIC_PCTR_LOG_SD
    price_log_mean: float = SYNTHETIC_PRICE_LOG_MEAN
    price_log_sd: float = SYNTHETIC_PRICE_LOG_SD
    price_pctr_correlation: float = SYNTHETIC_PRICE_PCTR_CORRELATION
    n_train: int = 300_000
    n_validation_episodes: int = 100
    validation_episode_length: int = 1000
    n_test: int = 200_000
    seed: int = 0
    name: str = "synthetic"

    def __post_init__(self) -> None:
        require_real("ctr", self.ctr, low=0.0, high=1.0, low_open=True)
        require_positive("pctr_log_sd", self.pctr_log_sd)
        require_real("price_log_mean", self.price_log_mean)
        require_positive("price_log_sd", self.price_log_sd)
        require_real("price_pctr_correlation", self.price_pctr_correlation, low=-1.0, high=1.0)
        for name in ("n_train", "n_validation_episodes", "validation_episode_length", "n_test"):
            require_int(name, getattr(self, name), low=1)
        require_int("seed", self.seed, low=0)

    def build(self) -> Campaign:
        return _build(self)

    def draw(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``size`` requests: (clicks, market prices, pctrs)."""
        quality = rng.standard_normal(size)
        noise = rng.standard_normal(size)
        sigma = self.pctr_log_sd
        pctrs = np.minimum(1.0, self.ctr * np.exp(sigma * quality - 0.5 * sigma**2))
        rho = self.price_pctr_correlation
        log_prices = self.price_log_mean + self.price_log_sd * (rho * quality + np.sqrt(1.0 - rho**2) * noise)
        prices = np.minimum(MAX_PRICE, np.floor(np.exp(log_prices))).astype(np.int64)
        clicks = (rng.random(size) < pctrs).astype(np.int8)
        return clicks, prices, pctrs


@functools.lru_cache(maxsize=4)
def _build(recipe: SyntheticCampaign) -> Campaign:
    train_rng, validation_rng, test_rng = (np.random.default_rng(stream)
                                           for stream in np.random.SeedSequence(recipe.seed).spawn(3))
    train = BidLog(*recipe.draw(train_rng, recipe.n_train), np.zeros(1, dtype=np.int64))
    length = recipe.validation_episode_length
    validation = BidLog(*recipe.draw(validation_rng, recipe.n_validation_episodes * length),
                        np.arange(recipe.n_validation_episodes, dtype=np.int64) * length)
    test = BidLog(*recipe.draw(test_rng, recipe.n_test), np.zeros(1, dtype=np.int64))
    return Campaign(name=recipe.name, logs={"train": train, "validation": validation, "test": test},
                    recipe=recipe, **statistics_from_log(train))


def default_synthetic_campaign() -> Campaign:
    """The campaign of ``gymnasium.make("papergym/RTB-v0")``: ``SyntheticCampaign()`` built."""
    return SyntheticCampaign().build()
