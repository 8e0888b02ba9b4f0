"""Observation/action adapters, robustness and the SB3 VecEnv adapter.

Submodules are imported on use (``papergym.wrappers.sb3`` needs stable-baselines3, which environments
themselves never import).
"""
