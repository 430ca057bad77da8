"""Static chart images for email: PNGs by kaleido with the system Chromium, else HTML/CSS bars.

kaleido's own `start_sync_server` blocks forever when the browser cannot start (its
worker thread dies before reading the queue), so this module runs one `Kaleido` on a
private event loop thread instead: the browser starts once for many figures, and
every step has a timeout that turns into a ChartImageError.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import pandas as pd

from finops_agent.catalog import ChartHint
from finops_agent.formatting import share_pct
from finops_agent.report.charts import ACCENT, LABEL_AXES, ColourMap

T = TypeVar("T")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_START_TIMEOUT_S = 45.0
_FIGURE_TIMEOUT_S = 30.0
_WIDTH, _HEIGHT, _SCALE = 700, 380, 1.5


class ChartImageError(RuntimeError):
    """A chart could not be drawn as an image; the message says which and why."""


def find_chromium(configured: str | None = None) -> str | None:
    """The Chromium to render with: the configured path if executable, else one on PATH."""
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class ChartImages:
    """One headless browser that turns many Plotly figures into PNG bytes; use as a context."""

    def __init__(self, browser_path: str, *, timeout_s: float = _FIGURE_TIMEOUT_S) -> None:
        self._path = browser_path
        self._timeout = timeout_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="finops-kaleido", daemon=True
        )
        self._kaleido: Any = None

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float, what: str) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise ChartImageError(f"{what} timed out after {timeout:.0f} s") from None
        except ChartImageError:
            raise
        except Exception as exc:
            raise ChartImageError(f"{what} failed: {type(exc).__name__}: {exc}") from None

    def __enter__(self) -> ChartImages:
        import kaleido

        self._thread.start()

        async def start() -> Any:
            # mathjax=False: no CDN fetch; plotly.js comes from the installed plotly package
            k = kaleido.Kaleido(n=1, timeout=self._timeout, mathjax=False, path=self._path)
            await k.open()
            return k

        try:
            self._kaleido = self._run(start(), _START_TIMEOUT_S, f"starting {self._path}")
        except BaseException:
            self._stop_loop()
            raise
        return self

    def png(self, figure: Any, name: str = "chart") -> bytes:
        """PNG bytes of one figure (a Plotly Figure or its dict); raise ChartImageError."""
        if self._kaleido is None:
            raise ChartImageError("ChartImages used outside its `with` block")
        opts = {"format": "png", "width": _WIDTH, "height": _HEIGHT, "scale": _SCALE}
        data = self._run(
            self._kaleido.calc_fig(figure, opts=opts),
            self._timeout + 5,
            f"rendering chart {name!r}",
        )
        if not isinstance(data, bytes) or not data.startswith(PNG_MAGIC):
            raise ChartImageError(f"rendering chart {name!r} did not produce a PNG")
        return data

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._kaleido is not None:
            with contextlib.suppress(ChartImageError):
                self._run(self._kaleido.close(), 15, "stopping the chart browser")
            self._kaleido = None
        self._stop_loop()

    def _stop_loop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if not self._loop.is_running():
            self._loop.close()


@dataclass(frozen=True)
class Bar:
    """One row of an HTML/CSS bar chart."""

    label: str
    value: float
    share: float | None
    width_pct: float
    colour: str


def bar_rows(frame: pd.DataFrame, hint: ChartHint, colours: ColourMap, n: int = 8) -> list[Bar]:
    """Top-n totals of a charted result as bars (by colour group for time series, else by x)."""
    x, y = hint.x, hint.y
    if frame.empty or x is None or y is None or x not in frame.columns or y not in frame.columns:
        return []
    by = hint.color if hint.kind in ("line", "area") and hint.color in frame.columns else x
    values = pd.to_numeric(frame[y], errors="coerce").fillna(0.0)
    totals = values.groupby(frame[by].astype(str).fillna("(none)")).sum()
    totals = totals.reindex(totals.abs().sort_values(ascending=False).index)
    head = totals.head(n)
    if len(totals) > n:
        head = pd.concat([head, pd.Series({"Other": totals.iloc[n:].sum()})])
    # label axes (services, accounts…) keep their colour from the charts; others use the accent
    keyed = by in LABEL_AXES or by == hint.color
    grand = float(totals.abs().sum())
    biggest = float(head.abs().max()) or 1.0
    return [
        Bar(
            label=str(label),
            value=float(value),
            share=share_pct(abs(float(value)), grand),
            width_pct=max(1.0, abs(float(value)) / biggest * 100),
            colour=colours[str(label)] if keyed or label == "Other" else ACCENT,
        )
        for label, value in head.items()
    ]
