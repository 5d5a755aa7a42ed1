"""One function per figure of the book; each returns a matplotlib Figure and does no I/O."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from .data import faces
from .data.datasets import GENDERS, FaceDataset

__all__ = [
    "figure1ab",
    "figure1c",
    "figure4a",
    "figure4b",
    "figure2",
    "masked_rows",
    "figure3",
    "chance_levels",
    "curve_panel",
    "curve_grid",
    "figure5",
    "figure6",
    "ORDER_LINES",
    "figure_r2",
    "mark_verdict",
    "pretraining_curves",
    "ATTRIBUTE_VALUES",
    "gate_heatmaps",
    "easy_and_hard",
    "figure7ab",
    "figure7c",
    "placeholder",
    "part_shares",
    "region_map_examples",
    "randomisation_curves",
    "cascade_maps",
    "planted_examples",
    "probe_depth",
    "similarity_grid",
    "vip_distribution",
    "average_faces",
    "SOURCE_COLOURS",
    "PRETRAINING_COLOURS",
    "image_grid",
    "part_labels",
    "relevance_examples",
    "training_curve",
    "use_book_style",
    "PART_COLOURS",
    "RELEVANCE_CMAP",
]

#: Diverging colour map for relevance, centred at 0 (red: for the class, blue: against).
RELEVANCE_CMAP = "bwr"


def use_book_style() -> None:
    """Matplotlib settings for the book's pages: sharper PNGs, readable default fonts."""
    plt.rcParams.update({"figure.dpi": 150, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 10})

#: One colour per part label, in `faces.PARTS` order (colour-blind-safe Okabe-Ito hues).
PART_COLOURS = (
    "#bbbbbb", "#e69f00", "#56b4e9", "#009e73", "#000000",
    "#d55e00", "#cc79a7", "#f0e442", "#0072b2",
)


def figure1c(data: FaceDataset, *, n_identities: int = 6, seed: int = 0) -> plt.Figure:
    """Paper Figure 1c: identities (rows, half female, half male) across all views (columns)."""
    rng = np.random.default_rng(seed)
    per_identity = data.identity_gender()
    chosen = []
    for code in (0, 1):
        pool = np.flatnonzero(per_identity == code)
        chosen += list(rng.choice(pool, size=min(n_identities // 2, pool.size), replace=False))
    views = np.unique(data.view)
    fig, axes = plt.subplots(len(chosen), len(views), figsize=(0.62 * len(views) + 0.9, 0.66 * len(chosen) + 0.3),
                             squeeze=False, gridspec_kw={"wspace": 0.04, "hspace": 0.06})
    for row, ident in enumerate(chosen):
        for col, view in enumerate(views):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            match = np.flatnonzero((data.identity == ident) & (data.view == view))
            if match.size:
                ax.imshow(data.images[match[0]], cmap="gray", vmin=0, vmax=255)
            if row == 0:
                ax.set_title(f"{view:+d}°", fontsize=8)
            if col == 0:
                ax.set_ylabel(GENDERS[per_identity[ident]], fontsize=8)
    fig.subplots_adjust(left=0.05, right=0.995, top=0.93, bottom=0.01)
    return fig


def part_labels(data: FaceDataset, *, n_faces: int = 4, seed: int = 0) -> plt.Figure:
    """Frontal faces above their per-pixel part labels, with a legend of the parts."""
    if data.parts is None:
        raise ValueError("this data set has no part labels (only the synthetic faces carry them)")
    front = data.frontal()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(front), size=min(n_faces, len(front)), replace=False)
    cmap = ListedColormap(PART_COLOURS)
    fig, axes = plt.subplots(2, len(chosen), figsize=(2.0 * len(chosen) + 1.8, 4.3), squeeze=False)
    for col, i in enumerate(chosen):
        axes[0, col].imshow(front.images[i], cmap="gray", vmin=0, vmax=255)
        axes[1, col].imshow(front.parts[i], cmap=cmap, vmin=-0.5, vmax=len(faces.PARTS) - 0.5,
                            interpolation="nearest")
        axes[0, col].set_title(front.identity_names[front.identity[i]], fontsize=9)
        for ax in axes[:, col]:
            ax.axis("off")
    handles = [Patch(color=c, label=name.replace("_", " ")) for name, c in zip(faces.PARTS, PART_COLOURS)]
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 0.82, 1))
    return fig


def figure1ab(kernels: dict, shares: dict | None = None) -> plt.Figure:
    """Paper Figure 1a/b: first-layer kernels of each trunk, side by side.

    Parameters
    ----------
    kernels : {title: (n, k, k) array}, e.g. from `vgg.first_layer_kernels`
    shares : {title: (n,) array}, optional low-frequency shares shown under each kernel
    """
    columns = 8
    width, rows, wspace, hspace = 9.5, max(int(np.ceil(len(k) / columns)) for k in kernels.values()), 0.08, 0.5
    # the height that fits square kernels of the width the columns leave (title and labels apart)
    panel_width = 0.96 * width / (len(kernels) + 0.12 * (len(kernels) - 1))
    side = panel_width / (columns + wspace * (columns - 1))
    height = 0.45 + 0.2 + rows * side + (rows - 1) * hspace * side
    fig = plt.figure(figsize=(width, height))
    outer = fig.add_gridspec(1, len(kernels), wspace=0.12, left=0.02, right=0.98, top=1 - 0.45 / height,
                             bottom=0.2 / height)
    for panel, (title, stack) in enumerate(kernels.items()):
        rows = int(np.ceil(len(stack) / columns))
        inner = outer[panel].subgridspec(rows, columns, wspace=wspace, hspace=hspace)
        order = np.argsort(-shares[title]) if shares else np.arange(len(stack))
        for cell, k in enumerate(order):
            ax = fig.add_subplot(inner[cell // columns, cell % columns])
            limit = np.abs(stack[k]).max() or 1.0
            ax.imshow(stack[k], cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if shares:
                ax.set_xlabel(f"{shares[title][k]:.2f}", fontsize=6, labelpad=1)
            if cell == 0:
                ax.set_title(f"{'ab'[panel]}. {title}", fontsize=10, loc="left", x=0, pad=8)
    return fig


def image_grid(images: np.ndarray, *, columns: int = 8, titles=None) -> plt.Figure:
    """Greyscale images (n, h, w) uint8 in a grid, optional titles."""
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.1 * columns, 1.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, image in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
    fig.tight_layout()
    return fig


def training_curve(history: dict, *, chance: float) -> plt.Figure:
    """Readout accuracy per epoch, training and validation, with chance level."""
    fig, ax = plt.subplots(figsize=(4.8, 2.8))
    epochs = np.arange(1, len(history["accuracy"]) + 1)
    ax.plot(epochs, history["accuracy"], marker=".", label="training")
    ax.plot(epochs, history["val_accuracy"], marker=".", label="validation")
    ax.axhline(chance, color="grey", ls=":", lw=1, label="chance")
    ax.axhline(0.98, color="black", ls="--", lw=0.8, label="98 % (paper: every model above)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def relevance_examples(images: np.ndarray, maps: np.ndarray, *, n: int = 6, seed: int = 0) -> plt.Figure:
    """Faces (top row) above their normalised relevance maps (bottom row)."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(images), size=min(n, len(images)), replace=False))
    fig, axes = plt.subplots(2, len(chosen), figsize=(1.5 * len(chosen) + 0.6, 3.2), squeeze=False)
    for col, i in enumerate(chosen):
        axes[0, col].imshow(images[i], cmap="gray", vmin=0, vmax=255)
        shown = axes[1, col].imshow(maps[i], cmap=RELEVANCE_CMAP, vmin=-1, vmax=1)
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(shown, ax=axes[1, :].tolist(), fraction=0.03, pad=0.02, label="relevance")
    return fig


def figure4a(images: np.ndarray, maps_by_model: dict, faces: list[int]) -> plt.Figure:
    """Paper Figure 4a: faces (rows) and their normalised maps from several models (columns)."""
    models = list(maps_by_model)
    fig, axes = plt.subplots(len(faces), len(models) + 1, figsize=(1.55 * (len(models) + 1) + 0.6, 1.7 * len(faces)),
                             squeeze=False)
    for row, i in enumerate(faces):
        axes[row, 0].imshow(images[i], cmap="gray", vmin=0, vmax=255)
        for col, name in enumerate(models, start=1):
            shown = axes[row, col].imshow(maps_by_model[name][i], cmap=RELEVANCE_CMAP, vmin=-1, vmax=1)
            if row == 0:
                axes[row, col].set_title(name.replace("-", "\n"), fontsize=7)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_title("face", fontsize=7)
    fig.colorbar(shown, ax=axes.ravel().tolist(), fraction=0.02, pad=0.02, label="relevance")
    return fig


def figure4b(matrix: np.ndarray, names: list[str]) -> plt.Figure:
    """Paper Figure 4b: mean Pearson similarity of the maps of every pair of models."""
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    shown = ax.imshow(matrix, cmap="viridis", vmin=min(0.0, float(np.nanmin(matrix))), vmax=1)
    ax.set_xticks(range(len(names)))
    ax.set_yticks(range(len(names)))
    ax.set_xticklabels(names, rotation=90, fontsize=6)
    ax.set_yticklabels(names, fontsize=6)
    for edge in range(5, len(names), 5):
        ax.axhline(edge - 0.5, color="white", lw=0.8 if edge % 10 else 1.8)
        ax.axvline(edge - 0.5, color="white", lw=0.8 if edge % 10 else 1.8)
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.03, label="mean Pearson r over faces")
    fig.tight_layout()
    return fig


def similarity_grid(matrices: dict, names: list[str]) -> plt.Figure:
    """Figure 4b for several attribution methods side by side, on one colour scale: mean
    Pearson similarity of every pair of models' maps (models in `names` order, white lines
    between the four model types)."""
    n = len(matrices)
    columns = min(n, 3)
    rows = -(-n // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(3.3 * columns + 0.6, 3.3 * rows), squeeze=False)
    for ax in grid.flat[n:]:
        ax.axis("off")
    axes = grid.flat[:n]
    low = min(0.0, min(float(np.nanmin(m)) for m in matrices.values()))
    for i, (ax, (label, matrix)) in enumerate(zip(axes, matrices.items())):
        shown = ax.imshow(matrix, cmap="viridis", vmin=low, vmax=1)
        for edge in range(5, len(names), 5):
            ax.axhline(edge - 0.5, color="white", lw=0.8 if edge % 10 else 1.6)
            ax.axvline(edge - 0.5, color="white", lw=0.8 if edge % 10 else 1.6)
        ax.set_title(label, fontsize=9)
        ticks = list(range(2, len(names), 5))
        groups = [" ".join(names[t].split("-")[:2]) for t in ticks]
        ax.set_xticks(ticks, groups if i + columns >= n else [""] * len(ticks), rotation=90, fontsize=7)
        ax.set_yticks(ticks, groups if i % columns == 0 else [""] * len(ticks), fontsize=7)
    fig.colorbar(shown, ax=list(grid.flat), fraction=0.025, pad=0.02, label="mean Pearson r over faces")
    return fig


#: Colours of the mask sources in Figures 3, 5 and 6 (Okabe-Ito; the paper's hues where it named them).
SOURCE_COLOURS = {
    "same_model": "#e69f00",  # orange: same init.
    "other_seed": "#000000",
    "other_task": "#cc79a7",  # violet
    "other_pretraining": "#56b4e9",  # cyan
    "other_both": "#d55e00",  # red
    "random": "#999999",
}
PRETRAINING_COLOURS = {"imagenet": "#009e73", "vggface": "#e69f00"}


def chance_levels(gender: np.ndarray, n_identities: int) -> dict[str, float]:
    """The masking curves' chance line per task: the accuracy of always answering the most
    frequent class (for gender, the larger group's share of the faces, not 1/2: 57 of 101
    demo faces are female, and a fully masked face gets one answer for every face).

    Parameters
    ----------
    gender : (n,) 0/1 gender of the faces the curves are measured on
    n_identities : how many identities (one face each) the identity models tell apart
    """
    counts = np.bincount(np.asarray(gender, dtype=int), minlength=2)
    return {"gender": float(counts.max() / counts.sum()), "identity": 1 / n_identities}


def _curve_axes(ax, levels: np.ndarray, chance: float) -> None:
    ax.set_xscale("log")
    ax.set_xlim(levels[0], levels[-1])
    ax.set_ylim(-0.02, 1.02)
    ax.axhline(chance, color="0.4", lw=0.8, ls=":", label=f"chance: majority class ({100 * chance:.1f} %)")
    ax.set_xlabel("pixels masked (%)")
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3, which="major")


def figure2(image: np.ndarray, by_relevance: list[np.ndarray], at_random: list[np.ndarray], levels: list[float]) -> plt.Figure:
    """Paper Figure 2: one face masked at increasing levels by relevance (top) and at random (bottom).

    `by_relevance` and `at_random` hold the masked greyscale images (0-255), one per level.
    """
    return masked_rows(image, {"by relevance": by_relevance, "at random": at_random}, levels)


def masked_rows(image: np.ndarray, rows: dict, levels: list[float]) -> plt.Figure:
    """One face, then one row per entry of `rows` (label -> greyscale images 0-255, one
    per level in `levels`), the original first in every row."""
    fig, axes = plt.subplots(len(rows), len(levels) + 1, figsize=(1.3 * (len(levels) + 1), 1.45 * len(rows)),
                             squeeze=False)
    for row, (label, masked) in enumerate(rows.items()):
        axes[row, 0].imshow(image, cmap="gray", vmin=0, vmax=255)
        axes[row, 0].set_ylabel(label)
        for col, (shown, level) in enumerate(zip(masked, levels), start=1):
            axes[row, col].imshow(shown, cmap="gray", vmin=0, vmax=255)
            if row == 0:
                axes[row, col].set_title(f"{level:g} %")
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_title("original")
    fig.tight_layout()
    return fig


def figure3(image: np.ndarray, pairs: list[dict], levels: np.ndarray, chance: float) -> plt.Figure:
    """Paper Figure 3: one representative (source, destination) pair per bin.

    Each entry of `pairs` has ``bin`` (a `comparisons.BINS` name), ``label``, ``source``,
    ``destination`` (model names), ``map`` (the source's normalised map of `image`) and
    ``curve`` (the destination's accuracy per level under the source's masks).
    """
    fig, axes = plt.subplots(2, len(pairs), figsize=(2.0 * len(pairs), 4.9), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 1.1]})
    for col, pair in enumerate(pairs):
        top, bottom = axes[0, col], axes[1, col]
        top.imshow(image, cmap="gray", vmin=0, vmax=255)
        top.imshow(pair["map"], cmap=RELEVANCE_CMAP, vmin=-1, vmax=1, alpha=0.65)
        top.set_xticks([])
        top.set_yticks([])
        label = pair["label"].replace(", ", ",\n")
        top.set_title(f"{label}\nsource {pair['source']}", fontsize=8)
        bottom.plot(levels, pair["curve"], color=SOURCE_COLOURS[pair["bin"]], marker="o", ms=2.5)
        _curve_axes(bottom, levels, chance)
        bottom.set_title(f"destination\n{pair['destination']}", fontsize=8)
        bottom.tick_params(labelsize=7)
        bottom.xaxis.label.set_fontsize(7.5)
        if col:
            bottom.set_ylabel("")
    fig.tight_layout()
    return fig


def curve_panel(ax, levels: np.ndarray, curves: dict, chance: float, *, title: str = "") -> None:
    """Mean curve +- SEM across destination models for each named set of curves.

    `curves` maps a label to ``(array (destinations, levels), colour, line style)``, or
    with a fourth entry, a marker drawn at every level (so that a line lying on another
    stays visible).
    """
    for label, (values, colour, style, *marker) in curves.items():
        values = np.asarray(values, dtype=float)
        mean = values.mean(0)
        sem = values.std(0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.zeros_like(mean)
        ax.plot(levels, mean, color=colour, ls=style, lw=1.4, label=label, marker=marker[0] if marker else None, ms=4,
                mfc="white" if marker else None)
        ax.fill_between(levels, mean - sem, mean + sem, color=colour, alpha=0.18, lw=0)
    _curve_axes(ax, levels, chance)
    ax.set_title(title)


def curve_grid(panels: list[dict], levels: np.ndarray, *, columns: int = 2) -> plt.Figure:
    """Figures 5 and 6: one `curve_panel` per entry (``curves``, ``chance``, ``title``).

    The panels share their line styles, so one legend below them serves all (the chance
    line is labelled in each panel, as chance differs between tasks).
    """
    rows = int(np.ceil(len(panels) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.3 * rows + 0.9), squeeze=False)
    for ax, panel in zip(axes.ravel(), panels):
        curve_panel(ax, levels, panel["curves"], panel["chance"], title=panel["title"])
        chance_line = ax.get_lines()[-1]
        ax.legend([chance_line], [chance_line.get_label()], fontsize=7, loc="upper right")
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    handles = axes.ravel()[0].get_lines()[:-1]
    fig.legend(handles, [h.get_label() for h in handles], loc="lower center", ncol=min(3, len(handles)),
               fontsize=9.5, frameon=False)
    fig.tight_layout(rect=(0, 0.9 / (3.3 * rows + 0.9), 1, 1))
    return fig


def figure5(binned: np.ndarray, random: np.ndarray, keys: list, levels: np.ndarray, chance: dict[str, float]) -> plt.Figure:
    """Paper Figure 5: per task, each pretraining's destinations under their own masks
    (same init.), the other seeds' masks (different init.) and random masks.

    Parameters
    ----------
    binned : (destinations, bins, levels) `comparisons.sampled_curves` of the models' masks
    random : (destinations, levels) the accuracy under the random masks
    keys : the profile's models (the destinations, in order)
    chance : task -> chance accuracy
    """
    from .evaluate.comparisons import BINS

    panels = []
    for task in ("identity", "gender"):
        panel = {}
        for pretraining in ("imagenet", "vggface"):
            dest = [j for j, k in enumerate(keys) if k.task == task and k.source == pretraining]
            colour = PRETRAINING_COLOURS[pretraining]
            panel[f"{pretraining}: same init."] = (binned[dest, BINS.index("same_model")], colour, "-")
            # open circles: the two inits' curves often coincide, and a dashed line on a solid one disappears
            panel[f"{pretraining}: different init."] = (binned[dest, BINS.index("other_seed")], colour, "--", "o")
            panel[f"{pretraining}: random mask"] = (random[dest], colour, ":")
        panels.append({"curves": panel, "chance": chance[task], "title": f"{task} models"})
    return curve_grid(panels, levels)


def figure6(binned: np.ndarray, keys: list, levels: np.ndarray, chance: dict[str, float], *,
            random: np.ndarray | None = None, floor: np.ndarray | None = None) -> plt.Figure:
    """Paper Figure 6: each kind of destination under masks from the four sources of
    `statistics.FIGURE6_SOURCES` (arguments as `figure5`), and beside them the two baselines
    a relevance mask must beat: `random` (destinations, levels), the random masks, and
    `floor` (destinations, levels), the mean over the randomised models' masks."""
    from .evaluate.comparisons import BINS
    from .evaluate.statistics import FIGURE6_SOURCES

    panels = []
    for pretraining in ("imagenet", "vggface"):
        for task in ("identity", "gender"):
            dest = [j for j, k in enumerate(keys) if k.task == task and k.source == pretraining]
            panel = {label: (binned[dest, BINS.index(name)], SOURCE_COLOURS[name], "-")
                     for name, label in FIGURE6_SOURCES.items()}
            if random is not None:
                panel["random masks"] = (random[dest], "0.45", ":")
            if floor is not None:
                panel["randomised models' masks (floor)"] = (floor[dest], "0.15", "-.")
            panels.append({"curves": panel, "chance": chance[task], "title": f"destination: {pretraining} {task}"})
    return curve_grid(panels, levels)


#: Figure R2's lines: label, masking run, colour, line style (the random masks' line uses
#: the run's ``random`` masks, the others each model's own).
ORDER_LINES = (("MoRF, mean colour", "constant", "#d95f02", "-"), ("LeRF, mean colour", "constant-lerf", "#d95f02", "--"),
               ("MoRF, ROAD", "road", "#1b9e77", "-"), ("LeRF, ROAD", "road-lerf", "#1b9e77", "--"),
               ("random, ROAD", "road", "0.5", ":"))


def figure_r2(accuracy: dict[str, np.ndarray], keys: list, levels: np.ndarray, chance: dict[str, float]) -> plt.Figure:
    """Figure R2: per model type, the accuracy as its own map's pixels are removed in
    both orders and with both fills (`ORDER_LINES`), mean ± SEM over the seeds.

    Parameters
    ----------
    accuracy : masking run name (``constant``, ``constant-lerf``, ``road``, ``road-lerf``)
        -> accuracy (masks, destinations, levels), the first masks the models' own in
        `keys` order, then ``random``
    keys : the profile's models
    chance : task -> chance accuracy
    """
    own = np.arange(len(keys))
    panels = []
    for source in ("imagenet", "vggface"):
        for task in ("gender", "identity"):
            idx = np.array([j for j, k in enumerate(keys) if k.source == source and k.task == task])
            curves = {}
            for label, run, colour, style in ORDER_LINES:
                masks = np.full(len(idx), len(keys)) if label.startswith("random") else own[idx]
                curves[label] = (accuracy[run][masks, idx], colour, style)
            panels.append({"title": f"{source} {task}", "curves": curves, "chance": chance[task]})
    return curve_grid(panels, levels)


#: The two values of each gate-face attribute, as Figure G1 labels them.
ATTRIBUTE_VALUES = {"gender": ("women", "men"), "skin_tone": ("lighter", "darker"), "facial_hair": ("none", "facial hair"),
                    "hair_length": ("short", "long")}


def training_curves(histories: dict[tuple[str, int], np.ndarray]) -> plt.Figure:
    """The gated networks' training loss per epoch: one colour per variant, the first seed
    solid and the others dashed (the chapter's Figure G0).

    Parameters
    ----------
    histories : (variant, seed) -> (epochs,) mean training loss of each epoch
    """
    variants = list(dict.fromkeys(v for v, _ in histories))
    seeds = sorted({s for _, s in histories})
    colours = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    for (variant, seed), loss in histories.items():
        loss = np.asarray(loss, dtype=float)
        ax.plot(np.arange(1, len(loss) + 1), loss, color=colours(variants.index(variant) % 10),
                linestyle="-" if seed == seeds[0] else "--", linewidth=1.4,
                label=variant if seed == seeds[0] else None)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.legend(frameon=False, fontsize=8, ncol=2)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def gate_heatmaps(gates: dict[str, np.ndarray], attributes: dict[str, np.ndarray]) -> plt.Figure:
    """Figure G1 (Garg et al., Figures 2 to 4): per variant (rows) and attribute (columns),
    the fraction of images of each attribute value that run each block.

    Parameters
    ----------
    gates : variant -> (n, blocks) 0/1 gates of the test images
    attributes : name -> (n,) 0/1 values of the same images
    """
    from .studies.gates import gate_heatmap

    n_blocks = next(iter(gates.values())).shape[1]
    fig, axes = plt.subplots(len(gates), len(attributes), figsize=(3.1 * len(attributes), 1.25 * len(gates) + 0.6),
                             squeeze=False)
    for r, (variant, g) in enumerate(gates.items()):
        for c, (name, values) in enumerate(attributes.items()):
            ax = axes[r, c]
            image = ax.imshow(gate_heatmap(g, values), cmap="magma", vmin=0, vmax=1, aspect="auto")
            ax.set_yticks([0, 1], ATTRIBUTE_VALUES.get(name, ("0", "1")), fontsize=7)
            ax.set_xticks(range(n_blocks), [str(b + 1) for b in range(n_blocks)], fontsize=7)
            if r == 0:
                ax.set_title(name.replace("_", " "))
            if c == 0:
                ax.set_ylabel(variant, fontsize=8)
            if r == len(gates) - 1:
                ax.set_xlabel("block")
    fig.subplots_adjust(wspace=0.45, hspace=0.45)
    fig.colorbar(image, ax=axes.ravel().tolist(), fraction=0.02, pad=0.01, label="fraction of test images running the block")
    return fig


def easy_and_hard(images: np.ndarray, gates: np.ndarray, identity: np.ndarray, *, n: int = 6) -> plt.Figure:
    """Figure G2 (Garg et al., Figure 5): for the `n` identities whose easiest and hardest
    images differ most in executed blocks, the image that ran the fewest blocks (top) and
    the one that ran the most (bottom).

    Parameters
    ----------
    images : (n_images, h, w) uint8 grey faces
    gates : (n_images, blocks) 0/1 gates of the same images
    identity : (n_images,) identity of each image
    """
    from .studies.gates import easy_and_hard as pairs_of

    count = gates.sum(axis=1)
    chosen = sorted(pairs_of(gates, identity).items(), key=lambda item: count[item[1][0]] - count[item[1][1]])[:n]
    fig, axes = plt.subplots(2, len(chosen), figsize=(1.6 * len(chosen), 3.6), squeeze=False)
    for c, (ident, (easy, hard)) in enumerate(chosen):
        for r, (index, label) in enumerate(((easy, "easy"), (hard, "hard"))):
            ax = axes[r, c]
            ax.imshow(images[index], cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"id {ident}: {int(count[index])} blocks", fontsize=7)
            if c == 0:
                ax.set_ylabel(label)
    fig.tight_layout()
    return fig


def pretraining_curves(records: dict[str, dict], titles: dict[str, str]) -> plt.Figure:
    """The stand-in trunks' held-out accuracy per pretraining epoch, with each corpus's
    chance level (dotted).

    `records` maps a source to its trunk record (``history.val_accuracy``,
    ``corpus.classes``); `titles` maps it to its legend label."""
    fig, ax = plt.subplots(figsize=(5, 3))
    for source, record in records.items():
        curve = record["history"]["val_accuracy"]
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=titles[source])
    ax.set_xlabel("epoch")
    ax.legend()
    for record in records.values():
        ax.axhline(1 / record["corpus"]["classes"], color="grey", ls=":", lw=1)
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(0, 1)
    ax.set_title("Pretraining: accuracy on held-out images of each corpus", fontsize=10)
    first = next(iter(records.values()))
    ax.text(1, 1 / first["corpus"]["classes"] + 0.02, "chance", color="grey", fontsize=8)
    return fig


#: Cell styles of the verdicts (`facelrp.evaluate.verdicts`) that are not "reproduced".
_VERDICT_STYLES = {"contradicted": "color: #b00020; font-weight: 600", "inconclusive": "color: #8a6d00",
                   "not testable here": "color: #6b6b6b; font-style: italic",
                   "reproduced: not specific to relevance": "color: #8a6d00; font-style: italic"}


def mark_verdict(value) -> str:
    """A table cell's CSS (pandas ``Styler.map``): a contradicted verdict in bold red, an
    inconclusive one in dark amber, not testable in grey italics, a claim random maps
    reproduce as well in amber italics, anything else unstyled."""
    return _VERDICT_STYLES.get(value, "")


def figure7ab(examples: list[dict]) -> plt.Figure:
    """Paper Figure 7a/b: per example, the target, each side's rank-2 face, and both
    sides' relevance maps of the target.

    Each entry of `examples` has ``target`` (image), ``imagenet`` and ``vggface``
    (dicts with ``face`` (image), ``map`` (normalised map of the target), ``label``),
    and ``title``.
    """
    fig, axes = plt.subplots(len(examples), 5, figsize=(8.2, 1.9 * len(examples) + 0.3), squeeze=False)
    for row, ex in enumerate(examples):
        panels = [
            (ex["target"], "gray", "target"),
            (ex["imagenet"]["face"], "gray", f"ImageNet side rank-2\n{ex['imagenet']['label']}"),
            (ex["vggface"]["face"], "gray", f"VGGFace side rank-2\n{ex['vggface']['label']}"),
            (ex["imagenet"]["map"], RELEVANCE_CMAP, "ImageNet-side map\nof the target"),
            (ex["vggface"]["map"], RELEVANCE_CMAP, "VGGFace-side map\nof the target"),
        ]
        for col, (image, cmap, title) in enumerate(panels):
            ax = axes[row, col]
            if cmap == "gray":
                ax.imshow(image, cmap="gray", vmin=0, vmax=255)
            else:
                ax.imshow(ex["target"], cmap="gray", vmin=0, vmax=255)
                ax.imshow(image, cmap=cmap, vmin=-1, vmax=1, alpha=0.65)
            ax.set_title(title, fontsize=7.5)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(ex["title"], fontsize=8)
    fig.tight_layout()
    return fig


def figure7c(per_target, *, simulated: bool) -> plt.Figure:
    """Paper Figure 7c: per target, the fraction of observers choosing the VGGFace-side
    face, sorted; a line at 0.5."""
    values = np.asarray(per_target, dtype=float)
    fig, ax = plt.subplots(figsize=(7.0, 2.8))
    colours = np.where(values > 0.5, PRETRAINING_COLOURS["vggface"], PRETRAINING_COLOURS["imagenet"])
    ax.bar(np.arange(len(values)), values, color=colours, width=0.85)
    ax.axhline(0.5, color="0.3", lw=0.8, ls=":")
    ax.set_xlim(-0.6, len(values) - 0.4)
    ax.set_ylim(0, 1)
    ax.set_xlabel("target face (sorted)")
    ax.set_ylabel("observers choosing the\nVGGFace-side face")
    ax.set_title("simulated observers" if simulated else "observers")
    fig.tight_layout()
    return fig


def placeholder(message: str) -> plt.Figure:
    """A small figure that only says why the real one is missing in this build."""
    fig, ax = plt.subplots(figsize=(7.0, 0.8))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", color="0.3")
    return fig


#: The four model types of the paper, in its order, with a colour per type (pretraining
#: hue from PRETRAINING_COLOURS, task as light/dark).
TYPE_COLOURS = {
    ("imagenet", "gender"): "#66c2a4", ("imagenet", "identity"): "#006d2c",
    ("vggface", "gender"): "#fdae6b", ("vggface", "identity"): "#a63603",
}


def part_shares(table, *, value: str = "absolute") -> plt.Figure:
    """Share of relevance (left) and relevance density (right) per face part for the four
    model types: bars are the mean of the five seeds (each averaged over the faces), error
    bars the seeds' standard deviation. `table` is `facelrp.explain.parts.share_table`'s output."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    parts_order = list(faces.PARTS)
    width = 0.8 / len(TYPE_COLOURS)
    for col, (column, label) in enumerate([(value, f"share of {value} relevance"),
                                           (f"{value}_density", "density (share / pixel share)")]):
        ax = axes[col]
        per_seed = table.groupby(["source", "task", "seed", "part"])[column].mean()
        for t, ((source, task), colour) in enumerate(TYPE_COLOURS.items()):
            seeds = per_seed.loc[(source, task)].unstack("part")[parts_order]
            x = np.arange(len(parts_order)) + (t - 1.5) * width
            ax.bar(x, seeds.mean(), width, yerr=seeds.std(ddof=1), color=colour, label=f"{source} {task}",
                   error_kw={"elinewidth": 0.8, "capsize": 1.5})
        ax.set_xticks(np.arange(len(parts_order)), [p.replace("_", " ") for p in parts_order], rotation=40, ha="right")
        ax.set_ylabel(label)
        if col == 1:
            from matplotlib.ticker import FormatStrFormatter, NullFormatter

            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.axhline(1, color="0.4", lw=0.8, ls="--")
    axes[0].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def region_map_examples(image: np.ndarray, masks: dict, maps_by_type: dict) -> plt.Figure:
    """One face with its internal (blue) and external (orange) regions, and the
    normalised map of one model of each type."""
    n = 1 + len(maps_by_type)
    fig, axes = plt.subplots(1, n, figsize=(2.1 * n, 2.4))
    overlay = np.stack([image / 255.0] * 3, axis=-1) * 0.6
    overlay[masks["internal"]] = [0.2, 0.4, 1.0]
    overlay[masks["external"]] = [1.0, 0.6, 0.1]
    axes[0].imshow(overlay)
    axes[0].set_title("internal / external", fontsize=9)
    for ax, (name, m) in zip(axes[1:], maps_by_type.items()):
        ax.imshow(m, cmap=RELEVANCE_CMAP, vmin=-1, vmax=1)
        ax.set_title(name, fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def randomisation_curves(curves: dict, steps: list[str], *, metric_names: dict) -> plt.Figure:
    """Cascading randomisation (Adebayo et al. 2018): similarity of the maps after
    re-initialising the layers from the top down to each step, to the original maps.

    `curves` maps a line label (model type and method) to {metric: (steps,) mean}. The
    legend names the model types by colour and the methods by line style (solid: the LRP
    composite, dashed: the gradient) rather than every line.
    """
    from matplotlib.lines import Line2D

    metrics = list(metric_names)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 4.4), sharey=True)
    types = {}
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        for label, values in curves.items():
            dashed = "gradient" in label
            kind = next(((src, task) for (src, task) in TYPE_COLOURS if src in label and task in label), None)
            colour = TYPE_COLOURS.get(kind, "0.3")
            types[kind] = colour
            ax.plot(range(len(steps)), values[metric], marker="o", ms=3, ls="--" if dashed else "-", color=colour)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_xticks(range(len(steps)), steps, rotation=60, fontsize=9)
        ax.set_title(metric_names[metric], fontsize=11)
    # down to -0.2, or to the lowest value drawn (the signed Pearson correlation can go below)
    lowest = np.nanmin([np.nanmin(values[m]) for values in curves.values() for m in metrics] + [-0.2])
    np.atleast_1d(axes)[0].set_ylim(min(-0.2, lowest - 0.05), 1.05)
    np.atleast_1d(axes)[0].set_ylabel("similarity to the original maps", fontsize=10)
    handles = [Line2D([], [], color=colour, lw=2, label="other" if kind is None else f"{kind[0]} {kind[1]}")
               for kind, colour in types.items()]
    handles += [Line2D([], [], color="0.2", ls=ls, label=name) for ls, name in (("-", "LRP composite"), ("--", "gradient"))]
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=10, frameon=False)
    return fig


def cascade_maps(examples: np.ndarray, methods: list[str], steps: list[str]) -> plt.Figure:
    """Rows: methods; columns: the original map, then each step (maps already in [-1, 1])."""
    columns = ["original", *steps]
    fig, axes = plt.subplots(len(methods), len(columns), figsize=(1.25 * len(columns), 1.45 * len(methods)),
                             squeeze=False)
    for r, method in enumerate(methods):
        for c, title in enumerate(columns):
            ax = axes[r, c]
            ax.imshow(examples[r, c], cmap=RELEVANCE_CMAP, vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8)
            if c == 0:
                ax.set_ylabel(method, fontsize=8)
    fig.tight_layout()
    return fig


def planted_examples(images: np.ndarray, masks: np.ndarray, maps_by_trunk: dict) -> plt.Figure:
    """Top row: faces with the planted parts outlined; one row of maps (in [-1, 1]) per trunk."""
    n = len(images)
    rows = 1 + len(maps_by_trunk)
    fig, axes = plt.subplots(rows, n, figsize=(1.3 * n, 1.45 * rows), squeeze=False)
    for c in range(n):
        axes[0, c].imshow(images[c], cmap="gray", vmin=0, vmax=255)
        axes[0, c].contour(masks[c], levels=[0.5], colors="#1f78b4", linewidths=0.8)
        for r, (name, maps) in enumerate(maps_by_trunk.items(), start=1):
            axes[r, c].imshow(maps[c], cmap=RELEVANCE_CMAP, vmin=-1, vmax=1)
            axes[r, c].contour(masks[c], levels=[0.5], colors="0.2", linewidths=0.5)
    for r, label in enumerate(["face", *maps_by_trunk]):
        axes[r, 0].set_ylabel(label, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


#: Line style per probing curve (`facelrp.studies.probing.depth_table`'s ``curve`` column).
PROBE_STYLES = {"whole layer (PLS + QDA)": "-", "8 top-VIP filters (PLS + QDA)": "--", "8 top-VIP neurons (QDA)": ":"}


def probe_depth(table, attributes, layers, *, columns: int = 4) -> plt.Figure:
    """Validation accuracy over depth, one panel per attribute: both trunks on the same
    axes (colour), whole layer / top-8 filters / top-8 neurons (line style), chance 0.5.
    `table` is `facelrp.studies.probing.depth_table`'s output."""
    rows = -(-len(attributes) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.9 * columns, 2.3 * rows), sharex=True, sharey=True)
    axes = np.atleast_2d(axes)
    blocks = [i for i, name in enumerate(layers) if name.endswith("conv1") or name == "fc1"]
    for ax, attribute in zip(axes.flat, attributes):
        part = table[table["attribute"] == attribute]
        for (trunk, curve), line in part.groupby(["trunk", "curve"]):
            ax.plot(line["depth"], line["accuracy"], PROBE_STYLES[curve], color=PRETRAINING_COLOURS[trunk], lw=1.3)
        ax.axhline(0.5, color="0.6", lw=0.7)
        for b in blocks:
            ax.axvline(b + 0.5, color="0.9", lw=0.6, zorder=0)
        ax.set_title(attribute.replace("_", " "))
        ax.set_ylim(0.4, 1.02)
    for ax in axes.flat[len(attributes):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xticks([b + 1 for b in blocks], ["b1", "b2", "b3", "b4", "b5", "fc"][: len(blocks)])
        ax.set_xlabel("layer (block starts)")
    for ax in axes[:, 0]:
        ax.set_ylabel("validation accuracy")
    handles = [plt.Line2D([], [], color=c, lw=2, label=f"{t} trunk") for t, c in PRETRAINING_COLOURS.items()]
    handles += [plt.Line2D([], [], color="0.3", ls=ls, label=curve) for curve, ls in PROBE_STYLES.items()]
    fig.legend(handles=handles, loc="lower right", bbox_to_anchor=(0.99, 0.04), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def layer_probe_depth(tables: dict, *, target: float | None = 0.98, readout: dict | None = None) -> plt.Figure:
    """Linear-probe validation accuracy at each trunk output on the way to ``fc2``, one
    panel per task, one line per trunk; `tables` maps trunk -> `probing.layer_probes`
    output. `readout` (trunk -> {task: mean accuracy of the fine-tuned models}) marks the
    models beside the ``fc2`` point; `target` draws the paper's accuracy level."""
    tasks = list(next(iter(tables.values()))["task"].unique())
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.0), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, task in zip(axes, tasks):
        for trunk, table in tables.items():
            part = table[table["task"] == task]
            x = np.arange(len(part))
            ax.plot(x, 100 * part["accuracy"], "o-", color=PRETRAINING_COLOURS[trunk], lw=1.5, label=f"{trunk} trunk")
            if readout and task in readout.get(trunk, {}):
                ax.plot([x[-1] + 0.25], [100 * readout[trunk][task]], "D", color=PRETRAINING_COLOURS[trunk], mfc="white")
        ax.set_xticks(x, [name.replace("_pool", "\npool") for name in part["layer"]])
        if target is not None:
            ax.axhline(100 * target, color="0.5", ls="--", lw=0.8)
            ax.text(0, 100 * target - 0.8, f"{100 * target:.0f} % (paper's readouts)", fontsize=7, color="0.4", va="top")
        ax.set_title(task)
        ax.set_xlabel("trunk output (input to the probe)")
    axes[0].set_ylabel("probe validation accuracy (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    if readout:
        handles.append(plt.Line2D([], [], ls="", marker="D", mfc="white", color="0.3"))
        labels.append("fine-tuned models (mean)")
    axes[-1].legend(handles, labels, loc="lower left", frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def vip_distribution(results: dict, attribute: str = "gender") -> plt.Figure:
    """Figure 5 of Diniz & Schwartz for one attribute: the distribution of neuron VIP scores
    averaged over layers (log scale), and the accuracy of single neurons against their VIP
    (binned mean, shaded two standard deviations), per trunk."""
    from .studies.probing import VIP_BINS

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    centres = (VIP_BINS[:-2] + VIP_BINS[1:-1]) / 2
    for trunk, arrays in results.items():
        a = list(arrays["attributes"]).index(attribute)
        hist = arrays["vip_hist"][:, a, :].mean(axis=0)
        axes[0].step(np.r_[centres, centres[-1] + 0.25], hist, where="mid", color=PRETRAINING_COLOURS[trunk], label=f"{trunk} trunk")
        sampled = arrays["sampled"].reshape(-1, 2)
        sampled = sampled[~np.isnan(sampled[:, 0])]
        edges = np.quantile(sampled[:, 0], np.linspace(0, 1, 11))
        which = np.clip(np.searchsorted(edges, sampled[:, 0], side="right") - 1, 0, 9)
        mid = np.array([sampled[which == b, 0].mean() for b in range(10) if (which == b).any()])
        mean = np.array([sampled[which == b, 1].mean() for b in range(10) if (which == b).any()])
        sd = np.array([sampled[which == b, 1].std() for b in range(10) if (which == b).any()])
        colour = PRETRAINING_COLOURS[trunk]
        axes[1].plot(mid, mean, "o-", color=colour, ms=3, label=f"{trunk} trunk")
        axes[1].fill_between(mid, mean - 2 * sd, mean + 2 * sd, color=colour, alpha=0.15, lw=0)
    top_bin = max(int(np.flatnonzero(a["vip_hist"].sum(axis=(0, 1)))[-1]) for a in results.values())
    axes[0].set_xlim(0, VIP_BINS[min(top_bin + 2, len(VIP_BINS) - 2)])
    axes[0].set_yscale("log")
    axes[0].set_xlabel(f"VIP score of a neuron ({attribute.replace('_', ' ')})")
    axes[0].set_ylabel("share of neurons (mean over layers)")
    axes[1].axhline(0.5, color="0.6", lw=0.7)
    axes[1].set_xlabel("VIP score of the neuron")
    axes[1].set_ylabel("accuracy of QDA on that neuron alone")
    for ax in axes:
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def average_faces(means: np.ndarray, *, n: int, titles=None) -> plt.Figure:
    """Diniz & Schwartz's Figures 1 and 6: for each neuron (column), the mean of the `n`
    faces that activate it most (top row) and least (bottom row).

    means : (2, n_neurons, h, w), top then bottom (`facelrp.stages.digest.mean_faces`)
    """
    k = means.shape[1]
    fig, axes = plt.subplots(2, k, figsize=(1.3 * k, 2.9))
    axes = np.atleast_2d(axes).reshape(2, k)
    for j in range(k):
        for row in range(2):
            axes[row, j].imshow(means[row, j], cmap="gray", vmin=0, vmax=255)
            axes[row, j].set_xticks([]), axes[row, j].set_yticks([])
        if titles is not None:
            axes[0, j].set_title(titles[j], fontsize=7)
    axes[0, 0].set_ylabel(f"top {n}")
    axes[1, 0].set_ylabel(f"bottom {n}")
    fig.tight_layout()
    return fig
