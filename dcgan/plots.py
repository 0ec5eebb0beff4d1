"""Plotly figures of a run's history: losses and discriminator accuracy."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

# A browser draws a few thousand points smoothly; a 100-epoch run has 46,800
# steps, so long histories are averaged into this many buckets.
MAX_POINTS = 1500
COLORS = {"d": "#636EFA", "g": "#EF553B", "real": "#00CC96", "fake": "#AB63FA"}


def downsample(steps: np.ndarray, values: np.ndarray, max_points: int = MAX_POINTS):
    """Bucket means of (steps, values) down to at most `max_points` points."""
    if len(steps) <= max_points:
        return steps, values
    edges = np.linspace(0, len(steps), max_points + 1).astype(int)
    starts = edges[:-1]
    counts = np.diff(edges)
    sums = np.add.reduceat(values, starts)
    return steps[edges[1:] - 1], sums / counts


def _figure(history, series, title, y_title, y_range=None) -> go.Figure:
    figure = go.Figure()
    for column, name, color in series:
        steps, values = downsample(history["step"], history[column])
        figure.add_trace(
            go.Scatter(
                x=steps, y=values, name=name, mode="lines", line={"color": color}
            )
        )
    figure.update_layout(
        title=title,
        xaxis_title="step",
        yaxis_title=y_title,
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={
            "orientation": "h",
            "y": 1.02,
            "yanchor": "bottom",
            "x": 1,
            "xanchor": "right",
        },
        uirevision="keep",  # zoom and hidden traces survive live refreshes
    )
    if y_range:
        figure.update_yaxes(range=y_range)
    return figure


def loss_figure(history: dict) -> go.Figure:
    """Discriminator and generator loss per step."""
    series = [("d_loss", "D loss", COLORS["d"]), ("g_loss", "G loss", COLORS["g"])]
    return _figure(history, series, "Losses", "binary cross-entropy")


def accuracy_figure(history: dict) -> go.Figure:
    """Discriminator accuracy on real and on generated images per step."""
    series = [
        ("d_real_acc", "D accuracy on real", COLORS["real"]),
        ("d_fake_acc", "D accuracy on fake", COLORS["fake"]),
    ]
    return _figure(history, series, "Discriminator accuracy", "accuracy", [0, 1.02])


def quality_figure(metrics: dict) -> go.Figure:
    """Recognisable digits (bars) and Fréchet distance (line) after each epoch."""
    from plotly.subplots import make_subplots

    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Bar(
            x=metrics["epoch"],
            y=metrics["recognisable_digits"],
            name="recognisable digits",
            marker={"color": COLORS["real"]},
            opacity=0.6,
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=metrics["epoch"],
            y=metrics["frechet_distance"],
            name="Fréchet distance",
            mode="lines+markers",
            line={"color": COLORS["g"]},
        ),
        secondary_y=True,
    )
    figure.update_layout(
        title="Sample quality after each epoch",
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1,
                "xanchor": "right"},
        uirevision="keep",
    )  # fmt: skip
    figure.update_xaxes(title_text="epoch", dtick=1)
    figure.update_yaxes(
        title_text="recognisable digits", range=[0, 10.5], secondary_y=False
    )
    figure.update_yaxes(
        title_text="Fréchet distance (lower is better)", secondary_y=True
    )
    return figure


def histogram_figure(histograms: dict[str, list[int]]) -> go.Figure:
    """Class histograms of several generators, grouped by digit."""
    figure = go.Figure()
    for name, counts in histograms.items():
        figure.add_trace(go.Bar(x=list(range(10)), y=counts, name=name))
    figure.update_layout(
        barmode="group",
        title="Which digits each generator draws (classifier's verdict)",
        xaxis={"title": "digit", "dtick": 1},
        yaxis={"title": "samples"},
        height=340,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return figure
