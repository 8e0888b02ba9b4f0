"""papergym: reinforcement-learning environments and agents from research papers.

``import papergym`` registers every environment (``gymnasium.make("papergym/LQG-v0")``). Agents live in
``papergym.agents``, wrappers in ``papergym.wrappers``, reproductions in ``papergym.experiments``.
"""

from papergym.registration import register_all

__version__ = "0.1.0"

register_all()

__all__ = ["__version__", "register_all"]
