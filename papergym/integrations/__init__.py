"""Adapters to distributed engines. Import the one you need; each needs its own extra.

- :mod:`papergym.integrations.ray` (``pip install 'papergym[ray]'``): every papergym id registered with
  RLlib, RLlib training on a laptop or a cluster, and reproductions swept as Ray Tune trials.
"""
