"""Small live charts drawn with numpy alone, for the ``rgb_array`` render mode of the paper environments.

An environment keeps a :class:`ChartHistory` of the few quantities a user watches (recorded only when a
render mode is set, so that plain stepping pays nothing) and returns :func:`draw_chart` of it: one
horizontal panel per group of series, each series a polyline in its own colour, scaled to the panel's
range over the visible window, with a grey zero line where zero is in range. No display, no fonts and no
plotting library are needed, so the chart works in SB3's ``make_vec_env`` workers and in video recorders.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

#: Colours of the series of a panel, in order (RGB): blue, orange, green, red, purple.
PALETTE = np.array([[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189]],
                   dtype=np.uint8)
BACKGROUND, FRAME, ZERO_LINE = 255, 0, 200
#: Size of a chart frame, (height, width): the shape of every ``rgb_array`` chart is (HEIGHT, WIDTH, 3).
HEIGHT, WIDTH = 240, 320


class ChartHistory:
    """The last ``length`` values of a fixed number of scalar series, one row appended per step."""

    def __init__(self, n_series: int, length: int = 200):
        self.n_series = n_series
        self._rows: deque[tuple[float, ...]] = deque(maxlen=length)

    def clear(self) -> None:
        self._rows.clear()

    def append(self, *values: float) -> None:
        self._rows.append(tuple(float(value) for value in values))

    def series(self) -> np.ndarray:
        """Shape (n_series, steps); an empty history gives (n_series, 0)."""
        if not self._rows:
            return np.zeros((self.n_series, 0))
        return np.array(self._rows, dtype=np.float64).T


def draw_chart(panels: Sequence[np.ndarray], height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """An RGB image (height, width, 3) of uint8 with one horizontal panel per entry of ``panels``.

    Each entry is an array (n_series, steps) drawn as ``n_series`` polylines over the panel's width.
    Non-finite values are left out of the scaling and the drawing.
    """
    image = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    edges = np.linspace(0, height, len(panels) + 1).astype(int)
    for panel, top, bottom in zip(panels, edges[:-1], edges[1:]):
        _draw_panel(image[top:bottom], np.atleast_2d(np.asarray(panel, dtype=np.float64)))
    return image


def _draw_panel(area: np.ndarray, series: np.ndarray) -> None:
    height, width = area.shape[:2]
    area[[0, -1], :] = FRAME
    area[:, [0, -1]] = FRAME
    inner_height, inner_width = height - 4, width - 4
    finite = series[np.isfinite(series)]
    if series.shape[1] == 0 or finite.size == 0 or inner_height < 2 or inner_width < 2:
        return
    low, high = float(finite.min()), float(finite.max())
    if high - low < 1e-12:
        low, high = low - 1.0, high + 1.0
    if low < 0.0 < high:
        area[2 + _rows_of(np.array([0.0]), low, high, inner_height)[0], 2:-2] = ZERO_LINE
    columns = np.linspace(0, inner_width - 1, series.shape[1]).round().astype(int) + 2
    for index, values in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        rows = _rows_of(values, low, high, inner_height) + 2
        _polyline(area, rows, columns, np.isfinite(values), colour)


def _rows_of(values: np.ndarray, low: float, high: float, inner_height: int) -> np.ndarray:
    scaled = (np.nan_to_num(values, nan=low) - low) / (high - low)
    return ((1.0 - np.clip(scaled, 0.0, 1.0)) * (inner_height - 1)).round().astype(int)


def _polyline(area: np.ndarray, rows: np.ndarray, columns: np.ndarray, valid: np.ndarray,
              colour: np.ndarray) -> None:
    """Join consecutive valid points with straight segments (a vertical run per column step)."""
    if rows.size == 1:
        if valid[0]:
            area[rows[0], columns[0]] = colour
        return
    for start in np.flatnonzero(valid[:-1] & valid[1:]):
        count = max(abs(rows[start + 1] - rows[start]), abs(columns[start + 1] - columns[start])) + 1
        line_rows = np.linspace(rows[start], rows[start + 1], count).round().astype(int)
        line_columns = np.linspace(columns[start], columns[start + 1], count).round().astype(int)
        area[line_rows, line_columns] = colour
