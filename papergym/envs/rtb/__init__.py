"""Real-time bidding with a budget (Cai et al., WSDM 2017): the environment, campaigns and their loaders."""

from papergym.envs.rtb.campaign import (
    MAX_PRICE,
    BidLog,
    Campaign,
    load_campaign,
    read_campaign_folder,
    read_episodes_file,
    read_info,
    read_theta_log,
)
from papergym.envs.rtb.rtb import PAPER_C0, BiddingProblem, RTBConfig, RTBEnv, RTBVectorEnv
from papergym.envs.rtb.synthetic import SyntheticCampaign, default_synthetic_campaign

__all__ = [
    "MAX_PRICE",
    "PAPER_C0",
    "BidLog",
    "BiddingProblem",
    "Campaign",
    "RTBConfig",
    "RTBEnv",
    "RTBVectorEnv",
    "SyntheticCampaign",
    "default_synthetic_campaign",
    "load_campaign",
    "read_campaign_folder",
    "read_episodes_file",
    "read_info",
    "read_theta_log",
]
