"""Plotly figures for query results, drawn as the catalog's chart hint says."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative

from finops_agent.catalog import ChartHint
from finops_agent.formatting import CURRENCY_SYMBOLS, money_unit

_PALETTE: list[str] = list(qualitative.Plotly) + list(qualitative.D3) + list(qualitative.Safe)
_OTHER_COLOUR = "#b0b0b0"
_TEMPLATE = "plotly_white"
ACCENT = "#0b6bcb"
_ANOMALY = "#d92d20"
_Z_ANOMALY = 3.0
_CENTS_BELOW = 10.0
_ID_CHARS = 28
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}( 00:00:00)?$")
# Axes whose labels recur across charts and so keep one colour each.
LABEL_AXES = {
    "service_name",
    "service_code",
    "account_name",
    "account_id",
    "region",
    "purchase_option",
}


class ColourMap:
    """Stable colour per label (service, account…) so a label looks the same in every chart."""

    def __init__(self, ranked_labels: list[str] | None = None) -> None:
        self._colours: dict[str, str] = {}
        for label in ranked_labels or []:
            self[label]

    def __getitem__(self, label: str) -> str:
        if label == "Other":
            return _OTHER_COLOUR
        if label not in self._colours:
            self._colours[label] = _PALETTE[len(self._colours) % len(_PALETTE)]
        return self._colours[label]


def _symbol(code: str) -> str:
    """What a money axis writes before its amounts: `$`, `€`, `£`, else the code."""
    return CURRENCY_SYMBOLS.get(code, f"{code} ")


def axis_title(column: str, unit: str | None = None) -> str:
    """A readable axis title: 'unblended_cost' in USD -> 'Unblended cost ($)', in EUR/day -> '(€ per day)'."""
    text = column.replace("_", " ").strip().capitalize()
    text = text.replace(" usd", "").replace(" pct", " %").replace("Usd", "USD")
    parts = money_unit(unit)
    symbol = unit
    if parts is not None:
        code, rate = parts
        symbol = _symbol(code).strip() + (f" per {rate[1:]}" if rate else "")
    return f"{text} ({symbol})" if symbol and symbol not in text else text


def _largest(fig: go.Figure) -> float:
    """The largest absolute y value of a figure's traces (0.0 for none)."""
    largest = 0.0
    for trace in fig.data:
        y = getattr(trace, "y", None)
        if y is None:
            continue
        values = pd.to_numeric(pd.Series(list(y)), errors="coerce")
        if not values.empty and values.notna().any():
            largest = max(largest, float(values.abs().max()))
    return largest


def month_label(value: object) -> str:
    """A legend label: a month's first day as `2026-11`, other values as text."""
    stamp = pd.Timestamp(value) if isinstance(value, (pd.Timestamp, dt.date)) else None
    if stamp is None and isinstance(value, str) and _DAY.match(value):
        stamp = pd.Timestamp(value)
    if stamp is not None and stamp.day == 1 and stamp == stamp.normalize():
        return f"{stamp:%Y-%m}"
    return str(value)


def short_id(resource_id: str, limit: int = _ID_CHARS) -> str:
    """An axis label for a long id: the part after the ARN's last `/` or `:`, cut to `limit`."""
    text = str(resource_id)
    if text.startswith("arn:"):
        text = re.split(r"[/:]", text)[-1] or text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _layout(
    fig: go.Figure,
    title: str,
    y_unit: str | None,
    x_title: str | None = None,
    y_title: str | None = None,
) -> go.Figure:
    fig.update_layout(
        title={"text": title},
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
        height=380,
        legend={"orientation": "h", "y": -0.2},
        font={"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12},
    )
    parts = money_unit(y_unit)
    if parts is not None:
        prefix = _symbol(parts[0])
        # whole units hide everything on a small bill: cents below 10, and on any daily rate
        cents = parts[1] == "/day" or _largest(fig) < _CENTS_BELOW
        fig.update_yaxes(tickprefix=prefix, tickformat=",.2f" if cents else ",.0f")
    elif y_unit:
        # separators without SI suffixes: 1,200 GB rather than 1.2k GB
        fig.update_yaxes(tickformat=",.4~g", ticksuffix=f" {y_unit}" if y_unit != "%" else "%")
    if x_title:
        fig.update_xaxes(title={"text": x_title})
    if y_title:
        fig.update_yaxes(title={"text": y_title})
    return fig


def _top_n_with_other(frame: pd.DataFrame, x: str, y: str, n: int) -> pd.DataFrame:
    # ranked by size whatever the sign: a service that shrank most is never hidden in Other
    grouped = frame.groupby(x, dropna=False)[y].sum().sort_values(ascending=False, key=abs)
    head = grouped.head(n)
    rest = grouped.iloc[n:].sum()
    out = head.reset_index()
    if len(grouped) > n and rest:
        out = pd.concat([out, pd.DataFrame({x: ["Other"], y: [rest]})], ignore_index=True)
    out[x] = out[x].fillna("(none)").astype(str)
    return out


def figure_for(
    frame: pd.DataFrame,
    hint: ChartHint,
    title: str,
    units: dict[str, str],
    colours: ColourMap,
    top_n: int = 10,
) -> go.Figure | None:
    """A figure for a result, or None when the hint is a table or the columns are missing."""
    # the default template is applied at construction for ~1 ms; naming it per figure costs ~60 ms
    if pio.templates.default != _TEMPLATE:
        pio.templates.default = _TEMPLATE
    x, y, color = hint.x, hint.y, hint.color
    if hint.kind == "table" or frame.empty or x is None or y is None:
        return None
    if x not in frame.columns or y not in frame.columns:
        return None
    frame = frame.assign(**{y: pd.to_numeric(frame[y], errors="coerce").fillna(0.0)})
    unit = units.get(y)
    parts = money_unit(unit)
    symbol = _symbol(parts[0]) if parts is not None else ""
    value_fmt = symbol + "%{y:,.2f}"
    kind = hint.kind
    if kind == "pie" and (_top_n_with_other(frame, x, y, top_n)[y] <= 0).any():
        # a pie of negative or zero slices draws nonsense: credits and refunds become bars
        kind = "bar"
    if kind == "pie":
        data = _top_n_with_other(frame, x, y, top_n)
        fig = go.Figure(
            go.Pie(
                labels=data[x],
                values=data[y],
                hole=0.45,
                sort=False,
                marker={"colors": [colours[v] for v in data[x]]},
                hovertemplate="%{label}<br>"
                + symbol
                + "%{value:,.2f}"
                + " (%{percent})<extra></extra>",
            )
        )
        return _layout(fig, title, None)
    if kind == "bar":
        if color and color in frame.columns and color != x:
            keep = _top_n_with_other(frame, x, y, top_n)[x].tolist()
            data = frame[frame[x].astype(str).isin(keep)]
            fig = go.Figure()
            for label, part in data.groupby(color, dropna=False, sort=True):
                part_sum = part.groupby(x)[y].sum().reindex(keep).dropna()
                name = month_label(label)
                fig.add_bar(
                    x=part_sum.index.astype(str),
                    y=part_sum.values,
                    name=name,
                    marker_color=colours[name],
                    hovertemplate="%{x}<br>" + name + ": " + value_fmt + "<extra></extra>",
                )
            # percentages of different keys do not add up: side by side, never stacked
            fig.update_layout(barmode="group" if unit == "%" else "stack")
        else:
            data = _top_n_with_other(frame, x, y, top_n)
            fig = go.Figure(
                go.Bar(
                    x=data[x],
                    y=data[y],
                    marker_color=[colours[v] for v in data[x]] if x in LABEL_AXES else ACCENT,
                    hovertemplate="%{x}<br>" + value_fmt + "<extra></extra>",
                )
            )
        fig.update_xaxes(type="category")
        if x == "resource_id":
            _shorten_ids(fig)
        return _layout(fig, title, unit, axis_title(x), axis_title(y, unit))
    # line / area: one trace per colour group, the top groups and the rest as Other
    data = frame.copy()
    data[x] = pd.to_datetime(data[x], errors="coerce")
    fig = go.Figure()
    if color and color in data.columns:
        ranked = (
            data.groupby(color)[y].sum().sort_values(ascending=False).index.astype(str).tolist()
        )
        top = set(ranked[:top_n])
        data[color] = data[color].astype(str).where(data[color].astype(str).isin(top), "Other")
        groups = [(label, data[data[color] == label]) for label in [*ranked[:top_n], "Other"]]
    else:
        groups = [(y, data)]
    for label, part in groups:
        series = part.groupby(x)[y].sum().sort_index()
        if series.empty:
            continue
        fig.add_scatter(
            x=series.index,
            y=series.values,
            name=str(label),
            mode="lines",
            stackgroup="one" if hint.kind == "area" else None,
            line={"color": colours[str(label)], "width": 1.5},
            hovertemplate="%{x|%Y-%m-%d}<br>" + str(label) + ": " + value_fmt + "<extra></extra>",
        )
    if hint.kind == "line":
        # markers sit on each series' own value, which a stacked area would misplace
        _add_anomalies(fig, data, x, y, value_fmt)
    return _layout(fig, title, unit, None, axis_title(y, unit))


def _shorten_ids(fig: go.Figure) -> None:
    """Short resource ids on the axis; the hover keeps the full id (the table has it too)."""
    ids = list(dict.fromkeys(str(v) for trace in fig.data if trace.x is not None for v in trace.x))
    if not any(len(i) > _ID_CHARS or i.startswith("arn:") for i in ids):
        return
    fig.update_xaxes(tickmode="array", tickvals=ids, ticktext=[short_id(i) for i in ids])


def _anomaly_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows flagged as anomalies: `is_anomaly` when present, else |z_score| >= 3."""
    if "is_anomaly" in frame.columns:
        flags = frame["is_anomaly"].astype("string").str.lower().isin(["true", "1", "yes"])
        return flags.fillna(False).astype(bool)
    if "z_score" in frame.columns:
        return pd.to_numeric(frame["z_score"], errors="coerce").abs().fillna(0) >= _Z_ANOMALY
    return pd.Series(False, index=frame.index)


def _add_anomalies(fig: go.Figure, data: pd.DataFrame, x: str, y: str, value_fmt: str) -> None:
    """Red markers on the days a result flags as anomalous, with the series and z-score."""
    flagged = data[_anomaly_rows(data)]
    if flagged.empty:
        return
    label = (
        flagged["service_name"].astype(str)
        if "service_name" in flagged
        else pd.Series("", index=flagged.index)
    )
    z = (
        pd.to_numeric(flagged["z_score"], errors="coerce").round(1).astype(str)
        if "z_score" in flagged
        else pd.Series("", index=flagged.index)
    )
    fig.add_scatter(
        x=flagged[x],
        y=pd.to_numeric(flagged[y], errors="coerce"),
        name="Anomaly",
        mode="markers",
        marker={"color": _ANOMALY, "size": 10, "symbol": "circle-open", "line": {"width": 2}},
        customdata=list(zip(label, z, strict=True)),
        hovertemplate="Anomaly %{x|%Y-%m-%d}<br>%{customdata[0]}: "
        + value_fmt
        + "<br>z-score %{customdata[1]}<extra></extra>",
    )
