"""The bidders of Cai et al. (WSDM 2017): the DP against brute-force expectimax, the bid rule's closed
forms, the baselines' formulas, Lin's tuning and the replay accounting."""

from __future__ import annotations

import functools
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.evaluation import evaluate_policy

import papergym  # noqa: F401  (registers the ids)
from papergym.agents import AGENTS
from papergym.agents.rtb import (
    RLB,
    RLBNN,
    RLBNN_MAPPINGS,
    SSMDP,
    ConstantBidder,
    LinearBidder,
    Mcpc,
    MultiplierPolicy,
    RandomBidder,
    TableIncrements,
    bids_from_increments,
    bids_from_value_function,
    evaluation_config,
    replay,
    solve_value_function,
    solve_value_function_numpy,
)
from papergym.envs.rtb import MAX_PRICE, BidLog, RTBEnv, RTBVectorEnv, SyntheticCampaign, read_campaign_folder

IPINYOU = Path(__file__).resolve().parents[2] / "shared" / "data" / "ipinyou"
TINY_PDF = np.array([0.1, 0.4, 0.3, 0.2])  # market prices 0..3
TINY_THETA = 0.3


def _brute_force(pdf: np.ndarray, theta: float, horizon: int, budget: int, max_bid: int) -> np.ndarray:
    """Expectimax over every bid 0..min(b, max_bid) at every state: the optimal expected clicks."""

    @functools.cache
    def value(t: int, b: int) -> float:
        if t == 0:
            return 0.0
        return max(action_value(t, b, bid, theta) for bid in range(min(b, max_bid) + 1))

    def action_value(t: int, b: int, bid: int, pctr: float) -> float:
        win = sum(pdf[d] * (pctr + value(t - 1, b - d)) for d in range(len(pdf)) if d <= bid)
        lose = sum(pdf[d] for d in range(len(pdf)) if d > bid) * value(t - 1, b)
        return win + lose

    table = np.array([[value(t, b) for b in range(budget + 1)] for t in range(horizon + 1)])
    return table, action_value


@pytest.mark.parametrize("max_bid", [3, 2])
def test_dp_equals_brute_force_expectimax_on_a_tiny_instance(max_bid):
    brute, _ = _brute_force(TINY_PDF, TINY_THETA, 4, 6, max_bid)
    np.testing.assert_allclose(solve_value_function(TINY_PDF, TINY_THETA, 4, 6, max_bid), brute, atol=1e-12)
    np.testing.assert_allclose(solve_value_function_numpy(TINY_PDF, TINY_THETA, 4, 6, max_bid), brute,
                               atol=1e-12)


@pytest.mark.parametrize("pctr", [0.05, 0.3, 0.9])
def test_rlb_bid_is_the_largest_optimal_bid_of_the_expectimax(pctr):
    values = solve_value_function(TINY_PDF, TINY_THETA, 4, 6, 3)
    _, action_value = _brute_force(TINY_PDF, TINY_THETA, 4, 6, 3)
    for t in range(1, 5):
        for b in range(7):
            q = np.array([action_value(t, b, bid, pctr) for bid in range(min(b, 3) + 1)])
            best = np.flatnonzero(q >= q.max() - 1e-12).max()
            assert bids_from_value_function(values, t, b, pctr, 3)[0] == best, (t, b)


def test_value_function_is_monotone_in_t_and_b():
    campaign = SyntheticCampaign(n_train=20_000, n_validation_episodes=1, n_test=1000).build()
    values = solve_value_function(campaign.market_price_pdf, campaign.theta_avg, 60, 400)
    assert np.all(np.diff(values, axis=0) >= 0.0) and np.all(np.diff(values, axis=1) >= -1e-15)
    # V(t, b) <= t * theta_avg: at most one expected click of value theta_avg per auction.
    assert np.all(values <= np.arange(61)[:, None] * campaign.theta_avg + 1e-12)


def test_closed_forms_of_the_first_two_steps():
    pdf = np.full(301, 1 / 301)
    theta = 0.01
    values = solve_value_function(pdf, theta, 2, 400)
    budgets = np.arange(401)
    np.testing.assert_allclose(values[1], theta * (np.minimum(budgets, MAX_PRICE) + 1) / (MAX_PRICE + 1))
    # Last auction: nothing is left to save for, so bid everything allowed.
    np.testing.assert_array_equal(bids_from_value_function(values, 1, budgets, 1e-9), np.minimum(budgets, MAX_PRICE))
    # Two auctions left with b <= 300: V(1, b) - V(1, b - d) = theta * d / 301, so the bid is
    # the largest d with pctr >= theta * d / 301, i.e. floor(301 * pctr / theta).
    for pctr in (0.001, 0.005, 0.0099):
        expected = np.minimum(budgets[:301], int(301 * pctr / theta + 1e-9))
        np.testing.assert_array_equal(bids_from_value_function(values, 2, budgets[:301], pctr), expected)


def test_dp_argument_errors():
    with pytest.raises(ValueError, match="pdf"):
        solve_value_function([-0.1, 1.1], 0.1, 2, 2)
    with pytest.raises(ValueError, match="theta_avg"):
        solve_value_function(TINY_PDF, 0.0, 2, 2)
    with pytest.raises(ValueError, match="budget"):
        solve_value_function(TINY_PDF, 0.1, 2, -1)


@pytest.fixture(scope="module")
def synthetic():
    campaign = SyntheticCampaign(n_train=50_000, n_validation_episodes=20, validation_episode_length=200,
                                 n_test=4_000, seed=1).build()
    return campaign, evaluation_config(campaign, "test", horizon=200, c0=1 / 8)


def test_baselines_follow_their_formulas(synthetic):
    campaign, config = synthetic
    problem = config.problem
    t, b = np.array([200, 50, 3]), np.array([problem.budget, 40, 2])
    pctr = np.array([0.002, 0.0005, 0.01])
    np.testing.assert_array_equal(Mcpc(campaign, problem).bids(t, b, pctr), np.floor(campaign.cpc * pctr))
    np.testing.assert_array_equal(LinearBidder(campaign, problem, 50).bids(t, b, pctr),
                                  np.floor(50 * pctr / campaign.theta_avg))
    rlb, ssmdp = RLB(campaign, problem), SSMDP(campaign, problem)
    np.testing.assert_array_equal(ssmdp.bids(t, b, pctr), rlb.bids(t, b, np.full(3, campaign.theta_avg)))
    observations = problem.encode(t, b, pctr)
    actions, _ = rlb.predict(observations)
    np.testing.assert_array_equal(actions, np.minimum(rlb.bids(t, b, pctr), np.minimum(b, MAX_PRICE)))
    assert ConstantBidder(problem, 7).predict(observations[0])[0] == 7
    random_bids = RandomBidder(problem, 3, 5, seed=0).act_batch(np.repeat(observations[:1], 100, axis=0))
    assert set(random_bids.tolist()) == {3, 4, 5}


def test_lin_tuning_picks_the_grid_value_with_most_clicks(synthetic):
    campaign, config = synthetic
    grid = (2, 20, 60, 120)
    tuned = LinearBidder.tune(campaign, config.problem, "validation", grid=grid)
    validation = evaluation_config(campaign, "validation", horizon=200, c0=1 / 8)
    clicks = [replay(LinearBidder(campaign, config.problem, b0), validation).clicks.sum() for b0 in grid]
    assert list(tuned.tuning_clicks.values()) == clicks
    assert tuned.b0 == max(b0 for b0, c in zip(grid, clicks) if c == max(clicks))


def test_replay_accounting(synthetic):
    campaign, config = synthetic
    rlb = RLB(campaign, config.problem)
    result = replay(rlb, config)
    assert len(result.auctions) == config.n_episodes == 20
    assert result.auctions.sum() == len(campaign.logs["test"])
    assert np.all(result.cost <= config.problem.budget)
    assert np.all(result.clicks <= result.impressions)
    totals = result.totals()
    assert totals["cpm"] == pytest.approx(totals["cost"] / totals["impressions"])
    # Re-deriving the wins from the log: win iff the executed bid >= the market price.
    env = gym.make("papergym/RTB-v0", campaign=campaign, split="test", horizon=200, c0=1 / 8,
                   episode_order="sequential")
    observation, _ = env.reset()
    wins = clicks = cost = 0
    for _ in range(200):
        action, _ = rlb.predict(observation)
        observation, reward, terminated, _, info = env.step(action)
        assert info["win"] == int(info["bid"] >= info["market_price"])
        wins, clicks, cost = wins + info["win"], clicks + reward, cost + info["cost"]
        if terminated:
            break
    assert (wins, clicks, cost) == (result.impressions[0], result.clicks[0], result.cost[0])


def test_agents_registry_and_sb3_evaluate_policy():
    env = gym.make("papergym/RTB-v0", horizon=100)
    for name in ("rlb", "ss-mdp", "mcpc", "lin"):
        agent = AGENTS[name](env)
        mean, _ = evaluate_policy(agent, env, n_eval_episodes=2, warn=False)
        assert mean >= 0.0
    with pytest.raises(ValueError, match="RTB"):
        RLB.from_env(gym.make("papergym/LQG-v0"))


@pytest.mark.skipif(not (IPINYOU / "2997").is_dir(), reason="shared iPinYou data not present")
def test_rlb_on_real_campaign_2997_test_log_respects_the_budget():
    campaign = read_campaign_folder(IPINYOU / "2997")
    config = evaluation_config(campaign, "test", horizon=1000, c0=1 / 32)
    result = replay(RLB(campaign, config.problem), config)
    assert result.auctions.sum() == 156063 and len(result.auctions) == 157
    assert np.all(result.cost <= config.problem.budget) and result.clicks.sum() > 0


@pytest.fixture(scope="module")
def network(synthetic):
    campaign, config = synthetic
    # Episodes of T = 200 with T0 = 40: a fast, small fit; the mappings are then checked on the exact table.
    return RLBNN(campaign, config.problem, T0=40, hidden=8, train_steps=100)


def test_rlbnn_fits_and_bids_within_the_budget(synthetic, network):
    _, config = synthetic
    assert 0.0 <= network.bid_agreement <= 1.0 and network.mean_bid_error >= 0.0
    assert network.accuracy["increment_rmse"] >= 0.0
    assert network.network.n_parameters == network.accuracy["parameters"] < network.exact_table_size / 20
    assert int(config.problem.budget * 40 / 200) == network.B0
    result = replay(network, config)
    assert np.all(result.cost <= config.problem.budget) and result.auctions.sum() == 4000


def _exact(network, campaign):
    exact = network.with_mapping(network.mapping)
    values = solve_value_function(campaign.market_price_pdf, campaign.theta_avg, network.T0, network.network.width)
    exact.network = TableIncrements(np.diff(values, axis=1))
    return exact, values


def test_rlbnn_mappings_on_the_exact_table_follow_their_definitions(synthetic, network):
    campaign, config = synthetic
    exact, values = _exact(network, campaign)
    pctr = np.array([2 * campaign.theta_avg])
    # t <= T0: every mapping is RLB itself.
    for mapping in RLBNN_MAPPINGS:
        bidder = exact.with_mapping(mapping)
        for t, b in ((40, 30), (7, 12), (1, 5)):
            assert bidder.bids(np.array([t]), np.array([b]), pctr)[0] == \
                bids_from_value_function(values, t, b, pctr)[0]
    # MapA: RLB's bid at the mapped state (T0, b T0 / t).
    t, b = 160, 100
    mapped = b * 40 // t  # the authors' int(b / n * N_bound)
    assert exact.with_mapping("MapA").bids(np.array([t]), np.array([b]), pctr)[0] == \
        bids_from_value_function(values, 40, mapped, pctr)[0]
    # MapD: increments D(T0, k T0 / (t - 1)) summed over the actual budget.
    t = 81  # (t - 1) / T0 = 2: D(t - 1, k) ~ D(T0, k / 2), interpolated
    row, total, expected = exact.network.table[40], pctr[0], 0
    for delta in range(1, min(b, MAX_PRICE) + 1):
        position = (b - delta) / 2
        low = int(position)
        total -= row[low] + (position - low) * (row[low + 1] - row[low])
        if total < 0:
            break
        expected = delta
    assert exact.with_mapping("MapD").bids(np.array([t]), np.array([b]), pctr)[0] == expected
    # Seg: the episode start gives the first sub-episode an even share of the budget.
    seg = exact.with_mapping("Seg")
    budget = config.problem.budget
    first = seg.bids(np.array([200]), np.array([budget]), pctr)[0]
    assert first == bids_from_value_function(values, 40, budget // 5, pctr)[0]


def test_multiplier_policy_turns_box_actions_into_bids(synthetic):
    campaign, config = synthetic

    class Fixed:
        def predict(self, observations, deterministic=True):
            return np.full((len(observations), 1), 0.5, dtype=np.float32), None

    policy = MultiplierPolicy(Fixed(), config.problem, b0=20.0, max_multiplier=4.0)
    t, b, pctr = np.array([200, 100]), np.array([500, 3]), np.array([0.001, 0.01])
    bids = policy.act_batch(config.problem.encode(t, b, pctr))
    expected = np.minimum(np.floor(2.0 * 20.0 * pctr / campaign.theta_avg), np.minimum(b, MAX_PRICE))
    np.testing.assert_array_equal(bids, expected)  # the observation carries the exact pCTR


def test_a_bidder_through_the_environment_bids_exactly_as_one_given_the_log(synthetic):
    """pCTRs far below theta_avg / 1000 and awkward decimals reach the bidder bit for bit."""
    campaign, _ = synthetic
    rng = np.random.default_rng(0)
    pctrs = campaign.theta_avg * np.exp(rng.uniform(np.log(1e-6), np.log(50.0), 600))
    pctrs[::7] = 0.0
    prices = rng.integers(0, 120, pctrs.size)
    log = BidLog.from_arrays(rng.random(pctrs.size) < pctrs, prices, pctrs, np.arange(0, pctrs.size, 200))
    test_campaign = campaign.with_logs(test=log)
    config = evaluation_config(test_campaign, "test", horizon=200, c0=1 / 2)
    rlb = RLB(test_campaign, config.problem)
    env = RTBEnv(test_campaign, "test", 200, 1 / 2, episode_order="sequential")
    observation, _ = env.reset(seed=0)
    for position in range(200):
        auctions_left, budget_left, decoded = config.problem.decode(observation)
        assert decoded[0] == pctrs[position]  # bit for bit
        expected = min(int(rlb.bids(auctions_left, budget_left, pctrs[position:position + 1])[0]),
                       budget_left[0], MAX_PRICE)
        action, _ = rlb.predict(observation)
        assert action == expected
        observation, *_ = env.step(action)
    vector_observations = RTBVectorEnv(3, autoreset_mode="Disabled", campaign=test_campaign, split="test", horizon=200,
                                       c0=1 / 2, episode_order="sequential").reset(seed=0)[0]
    np.testing.assert_array_equal(config.problem.decode(vector_observations)[2], pctrs[[0, 200, 400]])


def test_the_bid_rule_on_exact_increments_is_rlb(synthetic):
    campaign, _ = synthetic
    values = solve_value_function(campaign.market_price_pdf, campaign.theta_avg, 30, 400)
    rng = np.random.default_rng(1)
    t, b = rng.integers(1, 31, 300), rng.integers(0, 400, 300)
    pctrs = campaign.theta_avg * rng.lognormal(0.0, 1.5, 300)
    increments = TableIncrements(np.diff(values, axis=1))
    np.testing.assert_array_equal(bids_from_increments(increments, t - 1, b, np.ones(300), pctrs, MAX_PRICE),
                                  bids_from_value_function(values, t, b, pctrs))


def test_increment_rows_are_the_value_function_differences(synthetic):
    campaign, _ = synthetic
    from papergym.agents.rtb import solve_increment_rows

    values = solve_value_function(campaign.market_price_pdf, campaign.theta_avg, 30, 400)
    rows = np.array([0, 1, 7, 29, 30])
    kept = solve_increment_rows(campaign.market_price_pdf, campaign.theta_avg, 30, 400, rows)
    np.testing.assert_array_equal(kept, np.diff(values, axis=1)[rows])


def test_compiled_replays_bid_as_the_environment_replay(synthetic, network):
    from papergym.agents.rtb import LinearBidder, Mcpc, replay_linear, replay_rlbnn

    campaign, config = synthetic
    for mapping in RLBNN_MAPPINGS:
        bidder = network.with_mapping(mapping)
        compiled, stepped = replay_rlbnn(bidder, config), replay(bidder, config)
        for key in ("auctions", "impressions", "clicks", "cost"):
            np.testing.assert_array_equal(getattr(compiled, key), getattr(stepped, key))
    for bidder in (LinearBidder(campaign, config.problem, 37.0), Mcpc(campaign, config.problem)):
        assert replay_linear(bidder, config).totals() == replay(bidder, config).totals()


@pytest.mark.skipif(not (IPINYOU / "2997").is_dir(), reason="shared iPinYou data not present")
def test_lin_with_the_authors_b0_wins_their_2997_row():
    """b0 = 10 (their tuned model) gives their README's Lin row exactly; their first release's grid gives 63."""
    from papergym.agents.rtb import FIRST_RELEASE_LIN_BASE_BID_GRID, LinearBidder, replay_linear

    campaign = read_campaign_folder(IPINYOU / "2997")
    config = evaluation_config(campaign, "test", horizon=1000, c0=1 / 32)
    totals = replay_linear(LinearBidder(campaign, config.problem, 10.0), config).totals()
    assert (totals["impressions"], totals["clicks"], totals["cost"]) == (32208, 71, 203610)
    first = LinearBidder.tune(campaign, config.problem, "validation", FIRST_RELEASE_LIN_BASE_BID_GRID, ties="smaller")
    assert first.b0 == 8 and replay_linear(first, config).totals()["clicks"] == 63
