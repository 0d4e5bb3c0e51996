"""Pictures of samples and of training: scatter plots over the true modes, image grids, time series, loss curves."""

import csv
import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tfgan_zoo.data import sample_kind  # noqa: E402


def image_grid(images, rows=None):
    """uint8 `[H', W', C]` grid of `images` in [-1, 1], `rows` rows (default: square)."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    rows = rows or math.ceil(math.sqrt(n))
    cols = math.ceil(n / rows)
    grid = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1, c), 255, np.uint8)
    pixels = np.round((np.clip(images, -1, 1) + 1) * 127.5).astype(np.uint8)
    for i, image in enumerate(pixels):
        r, col = divmod(i, cols)
        grid[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + col * (w + 1) : 1 + col * (w + 1) + w] = image
    return grid


def image_grid_png(images, rows=None, min_side=400):
    """PNG bytes of an image grid, enlarged (nearest neighbour) to at least `min_side` pixels across."""
    grid = image_grid(images, rows)
    image = Image.fromarray(grid.squeeze(-1) if grid.shape[-1] == 1 else grid)
    scale = max(1, math.ceil(min_side / image.width))
    buffer = io.BytesIO()
    image.resize((image.width * scale, image.height * scale), Image.NEAREST).save(buffer, format="png")
    return buffer.getvalue()


def samples_png(samples, rows=None):
    """PNG bytes of generated samples: a scatter plot of 2-D points, a grid of time series `[N, T, 1]`, else a
    grid of images in [-1, 1]."""
    samples = np.asarray(samples)
    kind = sample_kind(samples.shape[1:])
    if kind == "points":
        return scatter_png(samples)
    return curves_png(samples, rows) if kind == "series" else image_grid_png(samples, rows)


def class_rows(num_classes, n):
    """Labels for a grid of about `n` samples with one row per class: 0, 0, ..., 1, 1, ..."""
    return np.repeat(np.arange(num_classes), max(1, n // num_classes))


def _figure_png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def curves_png(curves, rows=None, real=None, row_titles=None):
    """PNG bytes of time series `[N, T, 1]` in [-1, 1], one per panel, `rows` rows (default: square). With `real`
    (as many series), each panel also shows its real counterpart in gray above the generated series."""
    curves = np.asarray(curves)[..., 0]
    figure, panels = _curve_panels(
        curves, rows or math.ceil(math.sqrt(len(curves))), 1.8, 1.1 * (1 + (real is not None)), row_titles
    )
    if real is not None:
        for axes, series in zip(panels, np.asarray(real)[..., 0]):
            axes.plot(series + 2.2, color="tab:gray", linewidth=0.8)
        figure.suptitle("gray: real, blue: generated with the same class, amplitude and period", fontsize=9)
    return _figure_png(figure)


def periods_png(curves, asked, measured, rows, row_titles=()):
    """PNG bytes of time series `[N, T, 1]` asked for periods `asked` (steps), one per panel in `rows` rows, each
    with dotted lines one asked period apart through its deepest point, so a curve that keeps the period it was
    asked for has a dip on every line, and titled with the asked and the `measured` period."""
    curves = np.asarray(curves)[..., 0]
    figure, panels = _curve_panels(curves, rows, 2.4, 1.3, row_titles)
    for axes, curve, period, found in zip(panels, curves, asked, measured):
        for line in np.arange(np.argmin(curve) % period, len(curve), period):
            axes.axvline(line, color="tab:gray", linestyle=":", linewidth=0.8)
        axes.set_title(f"asked {period:.0f}, measured {found:.1f}", fontsize=7)
    figure.tight_layout()
    return _figure_png(figure)


def _curve_panels(curves, rows, width, height, row_titles=()):
    """A figure of `rows` rows of `width` x `height` inch panels, each plotting one of `curves` `[N, T]` in blue (the
    panels left over are blank), rows named by `row_titles`; returns it and its panels in order, one per curve."""
    cols = math.ceil(len(curves) / rows)
    figure, panels = plt.subplots(
        rows, cols, figsize=(width * cols, height * rows), squeeze=False, sharex=True, sharey=True
    )
    for axes in panels.flat[len(curves) :]:
        axes.axis("off")
    for axes, curve in zip(panels.flat, curves):
        axes.set_xticks([])
        axes.set_yticks([])
        axes.plot(curve, color="tab:blue", linewidth=0.8)
    for axes, title in zip(panels[:, 0], row_titles or ()):
        axes.set_ylabel(title, fontsize=7)
    return figure, list(panels.flat)[: len(curves)]


def scatter_png(samples, real=None, centers=None, title=None):
    """PNG bytes of 2-D samples over real points and the true mode centres."""
    figure, axes = plt.subplots(figsize=(5, 5))
    if real is not None:
        axes.scatter(real[:, 0], real[:, 1], s=2, c="tab:gray", alpha=0.3, label="data")
    axes.scatter(samples[:, 0], samples[:, 1], s=2, c="tab:blue", alpha=0.5, label="generated")
    if centers is not None:
        axes.scatter(centers[:, 0], centers[:, 1], s=40, marker="x", c="tab:red", label="modes")
    axes.set_aspect("equal")
    axes.legend(loc="upper right", markerscale=3)
    if title:
        axes.set_title(title)
    return _figure_png(figure)


def history_png(csv_path, keys=("d_loss", "g_loss")):
    """PNG bytes of the curves of `keys` (and any mode-coverage metrics) from `history.csv` (`callbacks.HistoryCSV`)."""
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    extra = [k for k in ("modes_covered", "high_quality") if rows and k in rows[0]]
    figure, panels = plt.subplots(1, 1 + bool(extra), figsize=(5 * (1 + bool(extra)), 3.5), squeeze=False)
    epochs = [int(row["epoch"]) + 1 for row in rows]
    for group, axes in zip([keys, extra], panels[0]):
        for key in group:
            axes.plot(epochs, [float(row[key]) for row in rows], label=key)
        axes.set_xlabel("epoch")
        axes.legend()
    return _figure_png(figure)
