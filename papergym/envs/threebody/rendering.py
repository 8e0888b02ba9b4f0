"""Drawing the orbits and the energy error (matplotlib, imported only when a frame is drawn)."""

from __future__ import annotations

from typing import Any

import numpy as np

from papergym.envs.threebody.units import PAPER_UNITS

COLOURS = ("tab:blue", "tab:orange", "tab:green")


def _draw(figure: Any, history: np.ndarray, errors: np.ndarray, interval: float) -> None:
    """Trajectories (positions at interval ends, au) and log10 |dE/E0| against time (yr)."""
    figure.clear()
    orbits, energy = figure.subplots(1, 2)
    for body, colour in enumerate(COLOURS):
        orbits.plot(history[:, body, 0], history[:, body, 1], "-", color=colour, linewidth=1)
        orbits.plot(history[-1, body, 0], history[-1, body, 1], "o", color=colour)
    orbits.set_xlabel("x [au]")
    orbits.set_ylabel("y [au]")
    orbits.set_aspect("equal", adjustable="datalim")
    years = np.arange(len(errors)) * interval * PAPER_UNITS.time_yr
    energy.semilogy(years, errors, color="black")
    energy.set_xlabel("time [yr]")
    energy.set_ylabel("|dE/E0|")


def draw_frame(history: np.ndarray, errors: np.ndarray, interval: float) -> np.ndarray:
    """An RGB image (H, W, 3) of the episode so far, drawn without a display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=60)
    canvas = FigureCanvasAgg(figure)
    _draw(figure, history, errors, interval)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def show(figure: Any, history: np.ndarray, errors: np.ndarray, interval: float) -> Any:
    """Draw into an on-screen pyplot window (created on the first call); return the figure."""
    import matplotlib
    import matplotlib.pyplot as plt

    if figure is None:
        figure = plt.figure(figsize=(10, 5))
    _draw(figure, history, errors, interval)
    figure.tight_layout()
    figure.canvas.draw_idle()
    if matplotlib.get_backend().lower() != "agg":  # without a display there is nothing to show
        plt.pause(0.001)
    return figure


def close(figure: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)
