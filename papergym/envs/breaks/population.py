"""The semi-synthetic users: ratings, a low-rank factorisation, each user's catalogue and features.

As in the paper, users differ by their ratings. A ratings matrix (MovieLens 1M as in the paper, MovieLens
100K, or by default a synthetic low-rank one that needs no download) is split per user into 30% for
training a biased matrix factorisation (SGD, as the ``surprise`` library's SVD: 8 factors, 20 epochs,
learning rate 0.005, regularisation 0.02) and 70% that become the user's catalogue: the items a
recommender may show, each with its predicted rating r_hat and true rating r. The simulator shows items by
softmax(r_hat / 0.5) and the rating that drives the user's reinforcement is round((1 - kappa) r + kappa r_hat).
A user's features are the latent factors, the user bias and the softmax-average predicted rating.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from papergym.core.errors import PapergymError
from papergym.core.validation import require_int, require_positive, require_real
from papergym.envs.breaks.model import N_RATINGS, LVParams

#: The factorisation of the paper (surprise.SVD defaults with 8 factors, trained on 30% of each user's ratings).
N_FACTORS = 8
TRAIN_FRACTION = 0.3
SGD_EPOCHS = 20
SGD_LEARNING_RATE = 0.005
SGD_REGULARISATION = 0.02
SGD_INIT_STD = 0.1
#: MovieLens 1M's size, the default of the synthetic population.
MOVIELENS_USERS = 6040
MOVIELENS_ITEMS = 3706


@dataclass(frozen=True)
class Ratings:
    """A ratings table: parallel arrays of user index, item index and rating (users/items numbered 0..n-1)."""

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray

    @property
    def n_users(self) -> int:
        return int(self.users.max()) + 1

    @property
    def n_items(self) -> int:
        return int(self.items.max()) + 1


# --- MovieLens ratings files --------------------------------------------------------------------------------

MOVIELENS_1M = "MovieLens 1M"
MOVIELENS_100K = "MovieLens 100K"
#: Each format's field separator and the line it expects (MovieLens 1M ratings.dat, MovieLens 100K u.data).
RATINGS_FORMATS = {MOVIELENS_1M: ("::", "user::item::rating::timestamp"),
                   MOVIELENS_100K: ("\t", "user<TAB>item<TAB>rating<TAB>timestamp")}


def ratings_format(path: str | Path) -> str:
    """Which MovieLens format a ratings file is in, from its first non-blank line: MOVIELENS_1M
    (``::``-separated) or MOVIELENS_100K (tab-separated); a missing file or any other line raises a
    ``PapergymError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise PapergymError(f"ratings file {path} does not exist")
    with path.open(encoding="latin-1") as handle:
        first = next((line for line in handle if line.strip()), "")
    for name, (separator, _) in RATINGS_FORMATS.items():
        if separator in first:
            return name
    if not first:
        raise PapergymError(f"ratings file {path} holds no ratings")
    raise PapergymError(f"{path}, line 1: not a MovieLens ratings file; expected "
                        + " or ".join(f"{layout} ({name})" for name, (_, layout) in RATINGS_FORMATS.items())
                        + f", got {first.strip()!r}")


def load_ratings(path: str | Path) -> Ratings:
    """Read a MovieLens 1M ``ratings.dat`` or MovieLens 100K ``u.data`` (see :func:`ratings_format`)."""
    return _load(Path(path), ratings_format(path))


def load_movielens_ratings(path: str | Path) -> Ratings:
    """Read a MovieLens 1M ratings file (``user::item::rating::timestamp`` per line).

    Users and items are renumbered 0..n-1 in order of first appearance. A malformed line (wrong number of
    fields, a non-integer id or timestamp, a rating outside [1, 5]) raises a ``PapergymError`` (a
    ``ValueError``) naming the file and the line.
    """
    return _load(Path(path), MOVIELENS_1M)


def load_movielens_100k_ratings(path: str | Path) -> Ratings:
    """Read a MovieLens 100K ratings file (``u.data``: ``user<TAB>item<TAB>rating<TAB>timestamp`` per line),
    with the numbering and the errors of :func:`load_movielens_ratings`."""
    return _load(Path(path), MOVIELENS_100K)


def _load(path: Path, file_format: str) -> Ratings:
    if not path.is_file():
        raise PapergymError(f"ratings file {path} does not exist")
    user_ids: dict[str, int] = {}
    item_ids: dict[str, int] = {}
    users, items, values = [], [], []
    with path.open(encoding="latin-1") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            user, item, rating = _parse_line(path, number, line, file_format)
            users.append(user_ids.setdefault(user, len(user_ids)))
            items.append(item_ids.setdefault(item, len(item_ids)))
            values.append(rating)
    if not values:
        raise PapergymError(f"ratings file {path} holds no ratings")
    return Ratings(np.array(users, dtype=np.int64), np.array(items, dtype=np.int64),
                   np.array(values, dtype=np.float64))


def _parse_line(path: Path, number: int, line: str, file_format: str) -> tuple[str, str, float]:
    separator, layout = RATINGS_FORMATS[file_format]
    fields = line.rstrip("\r\n").split(separator)
    if len(fields) != 4:
        raise PapergymError(f"{path}, line {number}: expected {layout} (4 fields, {file_format}), "
                            f"got {len(fields)} field(s): {line.strip()!r}")
    user, item, rating_text, timestamp = (field.strip() for field in fields)
    for name, value in (("user", user), ("item", item), ("timestamp", timestamp)):
        if not value.isdigit():
            raise PapergymError(f"{path}, line {number}: {name} must be a non-negative integer, got {value!r}")
    try:
        rating = float(rating_text)
    except ValueError:
        raise PapergymError(f"{path}, line {number}: rating must be a number, got {rating_text!r}") from None
    if not 1.0 <= rating <= N_RATINGS:
        raise PapergymError(f"{path}, line {number}: rating must lie in [1, {N_RATINGS}], got {rating_text!r}")
    return user, item, rating


# --- the synthetic default ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticRatings:
    """A low-rank ratings matrix with MovieLens-like marginals (the default population, no download).

    r_ui = round(clip(mu + b_u + b_i + p_u . q_i + noise, 1, 5)), with Gaussian biases, ``rank``
    factors and noise; each user rates ``min_ratings`` plus a log-normal number of items chosen by a
    Zipf-like popularity, about ``mean_ratings`` per user (MovieLens 1M: at least 20, 166 on average).
    """

    n_users: int = MOVIELENS_USERS
    n_items: int = MOVIELENS_ITEMS
    rank: int = N_FACTORS
    mean_rating: float = 3.58
    user_bias_std: float = 0.45
    item_bias_std: float = 0.5
    factor_std: float = 0.3
    noise_std: float = 0.5
    min_ratings: int = 20
    mean_ratings: float = 166.0
    popularity_exponent: float = 0.8

    def __post_init__(self) -> None:
        require_int("n_users", self.n_users, low=2)
        require_int("n_items", self.n_items, low=2)
        require_int("rank", self.rank, low=1)
        require_int("min_ratings", self.min_ratings, low=2, high=self.n_items)
        require_real("mean_ratings", self.mean_ratings, low=self.min_ratings, high=self.n_items)
        for name in ("user_bias_std", "item_bias_std", "factor_std", "noise_std", "popularity_exponent"):
            require_real(name, getattr(self, name), low=0.0)

    def sample(self, rng: np.random.Generator) -> Ratings:
        user_bias = rng.normal(0.0, self.user_bias_std, self.n_users)
        item_bias = rng.normal(0.0, self.item_bias_std, self.n_items)
        user_factors = rng.normal(0.0, self.factor_std, (self.n_users, self.rank))
        item_factors = rng.normal(0.0, self.factor_std, (self.n_items, self.rank))
        popularity = 1.0 / np.arange(1, self.n_items + 1) ** self.popularity_exponent
        popularity = popularity[rng.permutation(self.n_items)]
        counts = self._rating_counts(rng)
        users = np.repeat(np.arange(self.n_users), counts)
        # Items without replacement, weighted by popularity: the smallest Exp(1)/weight keys (Efraimidis-Spirakis).
        items = np.concatenate([np.argpartition(rng.exponential(size=self.n_items) / popularity, count)[:count]
                                for count in counts])
        score = (self.mean_rating + user_bias[users] + item_bias[items]
                 + np.einsum("ij,ij->i", user_factors[users], item_factors[items])
                 + rng.normal(0.0, self.noise_std, len(users)))
        values = np.clip(np.round(score), 1, N_RATINGS)
        return Ratings(users, items, values)

    def _rating_counts(self, rng: np.random.Generator) -> np.ndarray:
        extra_mean = self.mean_ratings - self.min_ratings
        sigma = 1.0
        extra = rng.lognormal(np.log(max(extra_mean, 1e-9)) - sigma**2 / 2, sigma, self.n_users)
        return np.minimum(self.min_ratings + np.round(extra).astype(np.int64), self.n_items - 1)


# --- factorisation and catalogues -----------------------------------------------------------------------


@njit(cache=True)
def _sgd_epoch(order, users, items, values, mean, user_bias, item_bias, user_factors, item_factors,
               learning_rate, regularisation):
    for index in order:
        user, item = users[index], items[index]
        error = values[index] - (mean + user_bias[user] + item_bias[item]
                                 + np.dot(user_factors[user], item_factors[item]))
        user_bias[user] += learning_rate * (error - regularisation * user_bias[user])
        item_bias[item] += learning_rate * (error - regularisation * item_bias[item])
        for k in range(user_factors.shape[1]):
            user_value, item_value = user_factors[user, k], item_factors[item, k]
            user_factors[user, k] += learning_rate * (error * item_value - regularisation * user_value)
            item_factors[item, k] += learning_rate * (error * user_value - regularisation * item_value)


@dataclass(frozen=True)
class Factorisation:
    """A biased matrix factorisation r_hat = mu + b_u + b_i + p_u . q_i (clipped to [1, 5])."""

    mean: float
    user_bias: np.ndarray
    item_bias: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray

    @classmethod
    def fit(cls, ratings: Ratings, n_users: int, n_items: int, rng: np.random.Generator,
            n_factors: int = N_FACTORS, epochs: int = SGD_EPOCHS) -> Factorisation:
        mean = float(ratings.values.mean())
        user_bias, item_bias = np.zeros(n_users), np.zeros(n_items)
        user_factors = rng.normal(0.0, SGD_INIT_STD, (n_users, n_factors))
        item_factors = rng.normal(0.0, SGD_INIT_STD, (n_items, n_factors))
        seen = np.zeros(n_items, dtype=bool)
        seen[ratings.items] = True
        for _ in range(epochs):
            _sgd_epoch(rng.permutation(len(ratings.values)), ratings.users, ratings.items, ratings.values, mean,
                       user_bias, item_bias, user_factors, item_factors, SGD_LEARNING_RATE, SGD_REGULARISATION)
        # Items never seen in training have no estimate of their own: predict from the user's side only.
        item_factors[~seen] = 0.0
        return cls(mean, user_bias, item_bias, user_factors, item_factors)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        raw = (self.mean + self.user_bias[users] + self.item_bias[items]
               + np.einsum("ij,ij->i", self.user_factors[users], self.item_factors[items]))
        return np.clip(raw, 1.0, N_RATINGS)


def softmax_segments(values: np.ndarray, offsets: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(values / temperature) within each segment offsets[i]:offsets[i+1]."""
    starts = offsets[:-1]
    segment = np.repeat(np.arange(len(starts)), np.diff(offsets))
    scaled = values / temperature
    shifted = np.exp(scaled - np.maximum.reduceat(scaled, starts)[segment])
    return shifted / np.add.reduceat(shifted, starts)[segment]


@dataclass(frozen=True)
class Catalogue:
    """What the simulator needs of every user at one kappa and softmax temperature.

    Item arrays are flat, delimited per user by ``offsets``; ``rating_probabilities[u, r - 1]`` is the softmax
    mass of user u's items whose driving rating is r, and ``rating_cdf`` its cumulative sum (last entry exactly 1),
    the table the event simulation draws a slot's rating from.
    """

    offsets: np.ndarray
    probabilities: np.ndarray
    ratings: np.ndarray
    rating_probabilities: np.ndarray
    rating_cdf: np.ndarray

    @classmethod
    def from_items(cls, offsets: np.ndarray, probabilities: np.ndarray, ratings: np.ndarray) -> Catalogue:
        n_users = len(offsets) - 1
        owner = np.repeat(np.arange(n_users), np.diff(offsets))
        rating_probabilities = np.zeros((n_users, N_RATINGS))
        np.add.at(rating_probabilities, (owner, ratings - 1), probabilities)
        rating_cdf = np.minimum(np.cumsum(rating_probabilities, axis=1), 1.0)
        rating_cdf[:, -1] = 1.0
        return cls(offsets, probabilities, ratings, rating_probabilities, rating_cdf)

    def effective_beta(self, params: LVParams) -> np.ndarray:
        """Each user's beta: the expected beta_r of a shown item, sum_r q_r beta_r."""
        return self.rating_probabilities @ params.beta_array


@dataclass(frozen=True)
class RatingsPopulation:
    """Users with a catalogue of (predicted, true) ratings and a feature vector each."""

    features: np.ndarray
    offsets: np.ndarray
    predicted: np.ndarray
    true: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.features)

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    @classmethod
    def from_ratings(cls, ratings: Ratings, rng: np.random.Generator, temperature: float = 0.5) -> RatingsPopulation:
        """Split each user's ratings 30/70, factorise the 30%, and predict the 70% (the catalogue)."""
        n_users, n_items = ratings.n_users, ratings.n_items
        order = np.lexsort((rng.random(len(ratings.values)), ratings.users))
        users, items, values = ratings.users[order], ratings.items[order], ratings.values[order]
        counts = np.bincount(users, minlength=n_users)
        if np.any(counts < 2):
            raise PapergymError("every user needs at least 2 ratings (one to train, one to show); "
                                f"user {int(np.argmax(counts < 2))} has {int(counts[counts < 2][0])}")
        rank_in_user = np.arange(len(users)) - np.repeat(np.cumsum(counts) - counts, counts)
        n_train = np.clip(np.round(TRAIN_FRACTION * counts), 1, counts - 1)
        train = rank_in_user < np.repeat(n_train, counts)
        model = Factorisation.fit(Ratings(users[train], items[train], values[train]), n_users, n_items, rng)
        shown = ~train
        offsets = np.concatenate([[0], np.cumsum(counts - n_train)]).astype(np.int64)
        predicted = model.predict(users[shown], items[shown])
        weights = softmax_segments(predicted, offsets, temperature)
        softmax_average = np.add.reduceat(weights * predicted, offsets[:-1])
        features = np.column_stack([model.user_factors, model.user_bias, softmax_average])
        return cls(features, offsets, predicted, values[shown].astype(np.float64))

    def catalogue(self, kappa: float, temperature: float) -> Catalogue:
        """Item probabilities softmax(r_hat / temperature) and driving ratings round((1-kappa) r + kappa r_hat)."""
        probabilities = softmax_segments(self.predicted, self.offsets, temperature)
        mixed = np.clip(np.round((1.0 - kappa) * self.true + kappa * self.predicted), 1, N_RATINGS)
        return Catalogue.from_items(self.offsets, probabilities, mixed.astype(np.int64))

    def subset(self, users: np.ndarray) -> RatingsPopulation:
        """The population restricted to ``users`` (in that order)."""
        users = np.asarray(users, dtype=np.int64)
        pieces = [np.arange(self.offsets[u], self.offsets[u + 1]) for u in users]
        index = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
        sizes = np.diff(self.offsets)[users]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return RatingsPopulation(self.features[users], offsets, self.predicted[index], self.true[index])


@functools.lru_cache(maxsize=8)
def build_population(source: str | None = None, n_users: int = MOVIELENS_USERS, n_items: int = MOVIELENS_ITEMS,
                     seed: int = 0, temperature: float = 0.5) -> RatingsPopulation:
    """The population of ``seed`` from a MovieLens ratings file (1M ``ratings.dat`` or 100K ``u.data``), or
    synthetic when ``source`` is None.

    Cached: environments with the same arguments share one population.
    """
    rng = np.random.default_rng(seed)
    require_positive("temperature", temperature)
    synthetic = source is None
    ratings = SyntheticRatings(n_users=n_users, n_items=n_items).sample(rng) if synthetic else load_ratings(source)
    return RatingsPopulation.from_ratings(ratings, rng, temperature)
