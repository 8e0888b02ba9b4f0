"""Budget-constrained bidders competing in real-time auctions (the multi-agent counterpart of RTB-v0):
a PettingZoo parallel environment, its AEC form and the shared request streams it replays.

Like PettingZoo's own environments, this module is the environment: ``parallel_env()`` and ``env()``.
"""

from papergym.envs.auction.auction import AUCTIONS, REWARDS, AuctionEnv, clear_auction, env, parallel_env, raw_env
from papergym.envs.auction.market import AuctionMarket, SyntheticMarket, market_from_campaigns
from papergym.envs.auction.vector import AuctionVectorEnv, clear_auctions

__all__ = ["AUCTIONS", "REWARDS", "AuctionEnv", "AuctionMarket", "AuctionVectorEnv", "SyntheticMarket",
           "clear_auction", "clear_auctions", "env", "market_from_campaigns", "parallel_env", "raw_env"]
