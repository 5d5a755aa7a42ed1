"""The figure functions the pages call: what each panel shows."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from facelrp import figures  # noqa: E402
from facelrp.evaluate import comparisons, masking
from facelrp.models import finetune
from facelrp.profiles import load_profile  # noqa: E402

KEYS = finetune.model_keys(load_profile("demo"))
LEVELS = masking.LEVELS
CHANCE = {"gender": 0.5, "identity": 0.01}


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_figure5_draws_own_other_seed_and_random_curves_per_pretraining():
    n = len(KEYS)
    binned = np.zeros((n, len(comparisons.BINS), len(LEVELS)))
    binned[:, comparisons.BINS.index("same_model")] = 0.2
    binned[:, comparisons.BINS.index("other_seed")] = 0.4
    random = np.full((n, len(LEVELS)), 0.9)
    fig = figures.figure5(binned, random, KEYS, LEVELS, CHANCE)
    identity = fig.axes[0]
    lines = _lines(identity)
    assert identity.get_title() == "identity models"
    np.testing.assert_allclose(lines["vggface: same init."].get_ydata(), 0.2)
    np.testing.assert_allclose(lines["vggface: different init."].get_ydata(), 0.4)
    np.testing.assert_allclose(lines["imagenet: random mask"].get_ydata(), 0.9)
    # the different-init. line carries markers, so it stays visible where it lies on the solid one
    assert lines["vggface: different init."].get_marker() == "o" and lines["vggface: same init."].get_marker() == "None"


def test_figure6_has_a_panel_per_destination_type_with_the_four_sources():
    binned = np.stack([np.full((len(KEYS), len(LEVELS)), b / 10) for b in range(len(comparisons.BINS))], axis=1)
    fig = figures.figure6(binned, KEYS, LEVELS, CHANCE)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["destination: imagenet identity", "destination: imagenet gender",
                      "destination: vggface identity", "destination: vggface gender"]
    assert len([label for label in _lines(fig.axes[0]) if not label.startswith("chance")]) == 4


def test_figure_r2_takes_each_models_own_masks_and_the_random_row():
    n = len(KEYS)
    runs = {}
    for k, name in enumerate(("constant", "constant-lerf", "road", "road-lerf")):
        accuracy = np.full((n + 1, n, len(LEVELS)), 0.5)
        accuracy[np.arange(n), np.arange(n)] = k / 10
        accuracy[n] = 0.95
        runs[name] = accuracy
    fig = figures.figure_r2(runs, KEYS, LEVELS, CHANCE)
    lines = _lines(fig.axes[0])
    np.testing.assert_allclose(lines["LeRF, mean colour"].get_ydata(), 0.1)
    np.testing.assert_allclose(lines["LeRF, ROAD"].get_ydata(), 0.3)
    np.testing.assert_allclose(lines["random, ROAD"].get_ydata(), 0.95)


def test_gate_figures_show_a_cell_per_variant_and_attribute_and_the_chosen_faces():
    rng = np.random.default_rng(0)
    gates = {"aig-0.4": rng.integers(0, 2, (30, 5)), "iig-gender": rng.integers(0, 2, (30, 5))}
    attributes = {"gender": rng.integers(0, 2, 30), "hair_length": rng.integers(0, 2, 30)}
    fig = figures.gate_heatmaps(gates, attributes)
    assert len(fig.axes) == 2 * 2 + 1  # the cells and the colour bar
    assert fig.axes[0].get_ylabel() == "aig-0.4" and fig.axes[1].get_title() == "hair length"
    images = rng.integers(0, 255, (30, 8, 8), dtype=np.uint8)
    fig = figures.easy_and_hard(images, gates["aig-0.4"], np.repeat(np.arange(10), 3), n=4)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 8 and all(t.startswith("id ") and t.endswith(" blocks") for t in titles)


def test_cascade_curves_name_types_by_colour_and_methods_by_style_and_show_every_value():
    steps = ["readout", "fc2", "block1"]
    curves = {f"{source} {task}, {method}": {"spearman_abs": np.array([0.9, 0.6, 0.2]),
                                             "pearson": np.array([0.1, -0.62, 0.0])}
              for source in ("imagenet", "vggface") for task in ("gender", "identity")
              for method in ("LRP composite", "gradient")}
    fig = figures.randomisation_curves(curves, steps, metric_names={"spearman_abs": "Spearman", "pearson": "Pearson"})
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["imagenet gender", "imagenet identity", "vggface gender", "vggface identity", "LRP composite",
                      "gradient"]
    first, second = fig.axes
    assert len(first.get_lines()) == 8 + 1  # every line, and the zero line
    assert [line.get_linestyle() for line in first.get_lines()[:2]] == ["-", "--"]
    assert second.get_ylim()[0] <= -0.62  # the lowest value is drawn, not cut off at -0.2


def test_figure6_shows_the_random_masks_and_the_randomised_models_floor_beside_the_sources():
    binned = np.zeros((len(KEYS), len(comparisons.BINS), len(LEVELS)))
    random, floor = np.full((len(KEYS), len(LEVELS)), 0.3), np.full((len(KEYS), len(LEVELS)), 0.6)
    random[5:10] = 0.1  # the ImageNet identity models (destinations in book order)
    fig = figures.figure6(binned, KEYS, LEVELS, CHANCE, random=random, floor=floor)
    lines = _lines(fig.axes[0])  # destination: imagenet identity
    np.testing.assert_allclose(lines["random masks"].get_ydata(), 0.1)
    np.testing.assert_allclose(lines["randomised models' masks (floor)"].get_ydata(), 0.6)
    np.testing.assert_allclose(_lines(fig.axes[1])["random masks"].get_ydata(), 0.3)  # imagenet gender


def test_the_chance_line_is_the_most_frequent_class_where_a_fully_masked_face_ends():
    gender = np.array([0] * 57 + [1] * 44)  # the demo faces: 57 female, 44 male
    assert figures.chance_levels(gender, 101) == {"gender": 57 / 101, "identity": 1 / 101}
    assert figures.chance_levels(np.ones(4, dtype=int), 4)["gender"] == 1.0
    binned = np.zeros((len(KEYS), len(comparisons.BINS), len(LEVELS)))
    fig = figures.figure6(binned, KEYS, LEVELS, figures.chance_levels(gender, 101))
    chance = [line for line in fig.axes[1].get_lines() if line.get_label().startswith("chance")][0]
    assert chance.get_label() == "chance: majority class (56.4 %)" and chance.get_ydata()[0] == 57 / 101


def test_training_curves_draw_every_run_one_colour_per_variant_seeds_by_line_style():
    from facelrp import figures

    histories = {(v, s): np.linspace(3, 1, 20) * (1 + s) for v in ("resnet", "aig-0.4") for s in (0, 1)}
    fig = figures.training_curves(histories)
    ax = fig.axes[0]
    assert len(ax.lines) == 4 and [t.get_text() for t in ax.get_legend().get_texts()] == ["resnet", "aig-0.4"]
    styles = {line.get_linestyle() for line in ax.lines}
    assert styles == {"-", "--"} and ax.get_yscale() == "log"
    colours = [line.get_color() for line in ax.lines]
    assert colours[0] == colours[1] != colours[2] == colours[3]
    figures.plt.close(fig)
