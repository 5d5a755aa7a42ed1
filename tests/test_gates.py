"""Gated ResNet, its losses and its cost (facelrp.studies.gates)."""

import numpy as np
import pytest

from facelrp.studies import gates

TINY = gates.GateSpec(input_size=8, stem=4, stages=((4, 1, 1), (8, 1, 2)), gate_hidden=3, n_classes=5)


def test_flops_equal_a_hand_count_on_a_tiny_network():
    fixed, residual = gates.block_flops(TINY)
    # block 0: 8x8 output, 4 -> 4 channels, identity shortcut; block 1: 4x4 output, 4 -> 8, projection
    assert residual.tolist() == [2 * 64 * 9 * (16 + 16), 2 * 16 * 9 * (32 + 64)]
    stem = 2 * 64 * 9 * 1 * 4
    gate_dense = 2 * (4 * 3 + 3 * 2) + 2 * (4 * 3 + 3 * 2)
    projection = 2 * 16 * 4 * 8
    head = 2 * 8 * 5
    assert fixed == stem + gate_dense + projection + head
    flops = gates.executed_gflops(np.array([[1, 1], [0, 1], [0, 0]]), TINY) * 1e9
    np.testing.assert_allclose(flops, [fixed + residual.sum(), fixed + residual[1], fixed])


def test_target_rate_and_iig_losses_equal_hand_computations():
    g = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=float)
    # rates 0.75, 0.25, 0.5 against targets 1, 0.5, 0.5
    assert float(gates.target_rate_loss(g, np.array([1.0, 0.5, 0.5]))) == pytest.approx(0.25**2 + 0.25**2)
    masks = gates.iig_masks(3, [0, 1, 2], 2)
    np.testing.assert_array_equal(masks, [[1, 0, 1], [0, 1, 0]])
    labels = np.array([0, 1, 0, 1])
    # image 0 wants 101, has 101: 0; image 1 wants 010, has 110: 1; image 2 wants 101, has 001: 1; image 3 wants 010, has 100: 2
    assert float(gates.iig_loss(g, labels, masks)) == pytest.approx(4.0)
    assert float(gates.iig_loss(g, labels, masks, blocks=[1])) == pytest.approx(0 + 0 + 0 + 1)


def test_attribute_estimate_picks_the_nearest_mask():
    masks = gates.iig_masks(6, [1, 2, 3, 4], 2)  # value 0: blocks 1, 3; value 1: blocks 2, 4
    g = np.array([[1, 1, 0, 1, 0, 1], [1, 0, 1, 0, 1, 1], [1, 1, 1, 1, 0, 1], [1, 0, 0, 0, 1, 1]])
    assert gates.estimate_attribute(g, masks).tolist() == [0, 1, 0, 1]
    # on blocks 2 and 4 only: value 0 wants (0, 0), value 1 (1, 1); ties go to the first value
    assert gates.estimate_attribute(g, masks, blocks=[2, 4]).tolist() == [0, 1, 0, 0]


@pytest.fixture(scope="module")
def tiny_model():
    return gates.build_gated_resnet(TINY, seed=0)


def test_straight_through_gate_is_exactly_binary_forward_and_passes_a_gradient(tiny_model):
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(0).random((16, 8, 8, 1)), tf.float32)
    with tf.GradientTape() as tape:
        logits, g = tiny_model(x, training=True)
        loss = tf.reduce_sum(g)
    values = g.numpy()
    assert values.shape == (16, 2) and set(np.unique(values)) <= {0.0, 1.0}
    gate_weights = [v for v in tiny_model.trainable_variables if "gate" in v.name]
    grads = tape.gradient(loss, gate_weights)
    assert all(gr is not None for gr in grads) and any(float(tf.reduce_max(tf.abs(gr))) > 0 for gr in grads)
    _, g_eval = tiny_model(x, training=False)
    again = tiny_model(x, training=False)[1]
    assert set(np.unique(g_eval.numpy())) <= {0.0, 1.0} and np.array_equal(g_eval.numpy(), again.numpy())


def test_a_closed_gate_skips_the_block():
    import tensorflow as tf
    from tensorflow import keras

    model = gates.build_gated_resnet(TINY, seed=1)
    for i in range(2):  # close every gate: the skip logit far above the execute logit
        dense = model.get_layer(f"block{i}_gate").logits
        kernel, _ = dense.get_weights()
        dense.set_weights([np.zeros_like(kernel), np.array([10.0, -10.0], np.float32)])
    x = tf.constant(np.random.default_rng(1).random((3, 8, 8, 1)), tf.float32)
    _, g = model(x, training=False)
    assert not g.numpy().any()
    probe = keras.Model(model.input, [model.get_layer("stem_relu").output, model.get_layer("block0_out").output])
    block_in, block_out = probe(x, training=False)
    # block 0 has an identity shortcut: with its gate closed its output is its (non-negative) input
    np.testing.assert_array_equal(block_out.numpy(), block_in.numpy())
    # open the gate again: the residual branch changes the output
    dense = model.get_layer("block0_gate").logits
    dense.set_weights([dense.get_weights()[0], np.array([-10.0, 10.0], np.float32)])
    block_in, block_out = probe(x, training=False)
    assert not np.allclose(block_out.numpy(), block_in.numpy())


def test_split_holds_out_a_fifth_of_every_identity():
    identity = np.repeat(np.arange(7), 10)
    train, test = gates.split_within_identity(identity, seed=0)
    assert set(train).isdisjoint(test) and len(train) + len(test) == 70
    assert all((identity[test] == i).sum() == 2 for i in range(7))


def test_variants_set_the_papers_losses():
    aig = gates.variant_settings("aig-0.4", 8)
    assert aig["gated"] and aig["targets"].tolist() == [1.0] + [0.4] * 6 + [1.0] and not aig["iig"]
    assert not gates.variant_settings("resnet", 8)["gated"]
    iig = gates.variant_settings("iig-gender", 8)
    (attribute, masks, blocks), = iig["iig"]
    assert attribute == "gender" and blocks == [1, 2, 3, 4, 5, 6]
    assert masks[0].tolist() == [0, 1, 0, 1, 0, 1, 0, 0] and masks[1].tolist() == [0, 0, 1, 0, 1, 0, 1, 0]
    two = gates.variant_settings("iig-gender-hair_length", 8)["iig"]
    assert [t[0] for t in two] == ["gender", "hair_length"] and set(two[0][2]).isdisjoint(two[1][2])
    with pytest.raises(ValueError, match="unknown variant"):
        gates.variant_settings("aig", 8)


def test_training_lowers_the_loss_and_evaluation_counts_the_open_gates():
    rng = np.random.default_rng(0)
    spec = gates.GateSpec(input_size=8, stem=4, stages=((4, 1, 1), (8, 2, 2), (8, 1, 1)), gate_hidden=4, n_classes=3)
    labels = np.repeat(np.arange(3), 40)
    x = (rng.random((120, 8, 8, 1)) * 0.2 + labels[:, None, None, None] / 3).astype(np.float32)  # brightness = class
    attributes = {"gender": labels % 2}
    model, history = gates.train_variant(spec, "iig-gender", x, labels, attributes, epochs=12, batch_size=30,
                                         learning_rate=3e-3, seed=0)
    assert history[-1] < 0.5 * history[0]
    out = gates.evaluate(model, spec, x, labels)
    fixed, residual = gates.block_flops(spec)
    np.testing.assert_allclose(out["gflops"] * 1e9, fixed + out["gates"] @ residual)
    assert out["accuracy"] > 0.6 and out["gates"].shape == (120, 4)
    # the IIG loss pulls the middle gates towards each image's gender mask
    masks = gates.variant_settings("iig-gender", 4)["iig"][0][1]
    assert (gates.estimate_attribute(out["gates"], masks, blocks=[1, 2]) == attributes["gender"]).mean() > 0.8


def test_heatmap_and_easy_hard_images_on_constructed_gates():
    g = np.array([[1, 0, 1], [1, 1, 1], [0, 0, 1], [1, 0, 0]])
    values = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(gates.gate_heatmap(g, values), [[1, 0.5, 1], [0.5, 0, 0.5]])
    identity = np.array([7, 7, 8, 8])
    assert gates.easy_and_hard(g, identity) == {7: (0, 1), 8: (2, 2)}  # identity 8: a tie, first image


def test_attribute_estimation_reads_imposed_masks_and_learned_centroids():
    n_blocks = 6
    rng = np.random.default_rng(0)
    gender = rng.integers(0, 2, 40)
    hair = rng.integers(0, 2, 40)
    imposed = gates.variant_settings("iig-gender", n_blocks)["iig"][0][1]  # (2, blocks)
    # iig-gender: every image opens exactly its gender's mask; aig: blocks 1 and 2 open by hair
    iig = imposed[gender].astype(float)
    aig = np.ones((40, n_blocks))
    aig[:, 1], aig[:, 2] = hair, 1 - hair
    train, test = np.arange(20), np.arange(20, 40)
    runs = {("iig-gender", 0): {"gates": iig[test], "train_gates": iig[train]},
            ("aig-0.5", 0): {"gates": aig[test], "train_gates": aig[train]},
            ("resnet", 0): {"gates": np.ones((20, n_blocks)), "train_gates": np.ones((20, n_blocks))}}
    table = gates.attribute_estimation(runs, {"gender": gender, "hair_length": hair}, train, test, n_blocks)
    table = table.set_index(["variant", "attribute"])
    assert "resnet" not in table.index.get_level_values("variant")
    assert table.loc[("iig-gender", "gender"), "masks"] == "imposed (IIG)"
    assert table.loc[("iig-gender", "gender"), "accuracy"] == 100.0
    assert table.loc[("aig-0.5", "hair_length"), "masks"] == "learned centroids"
    assert table.loc[("aig-0.5", "hair_length"), "accuracy"] == 100.0
    share = gender[test].mean()
    assert table.loc[("aig-0.5", "gender"), "majority class"] == pytest.approx(100 * max(share, 1 - share))


def test_run_table_averages_the_seeds_of_each_variant():
    records = {("resnet", 0): {"accuracy": 0.5, "mean_gflops": 2.0, "train_seconds": 60},
               ("resnet", 1): {"accuracy": 0.7, "mean_gflops": 2.0, "train_seconds": 120},
               ("aig-0.4", 0): {"accuracy": 0.6, "mean_gflops": 1.0, "train_seconds": 30}}
    table = gates.run_table(records)
    assert table.index.tolist() == ["resnet", "aig-0.4"]
    assert table.loc["resnet", "accuracy"] == pytest.approx(60.0)
    assert table.loc["resnet", "accuracy_sd"] == pytest.approx(np.std([50, 70], ddof=1))
    assert table.loc["resnet", "minutes"] == pytest.approx(1.5) and np.isnan(table.loc["aig-0.4", "gmacs_sd"])
    # multiply-adds, Garg et al.'s unit: half the FLOPs the records count
    assert table.loc["aig-0.4", "gmacs"] == pytest.approx(0.5) and gates.FLOPS_PER_MULTIPLY_ADD == 2


def test_an_attribute_read_only_through_gender_falls_to_its_floor_within_each_gender():
    n_blocks, n = 6, 400
    rng = np.random.default_rng(1)
    gender = rng.integers(0, 2, n)
    hair = np.where(rng.random(n) < 0.85, gender, 1 - gender)  # hair goes with gender, as in the faces
    skin = rng.integers(0, 2, n)
    aig = np.ones((n, n_blocks))
    aig[:, 1], aig[:, 2] = gender, 1 - gender  # the gates carry gender alone
    aig[:, 3] = np.where(rng.random(n) < 0.5, skin, rng.integers(0, 2, n))  # and a little skin tone, within each gender
    train, test = np.arange(0, n, 2), np.arange(1, n, 2)
    runs = {("aig-0.5", 0): {"gates": aig[test], "train_gates": aig[train]}}
    attributes = {"gender": gender, "hair_length": hair, "skin_tone": skin}
    overall = gates.attribute_estimation(runs, attributes, train, test, n_blocks).set_index("attribute")
    within = gates.attribute_estimation(runs, attributes, train, test, n_blocks, within=gender).set_index("attribute")
    assert overall.loc["hair_length", "accuracy"] > overall.loc["hair_length", "majority class"] + 20  # through gender
    assert "gender" not in within.index
    assert within.loc["hair_length", "accuracy"] <= within.loc["hair_length", "majority class"] + 1e-9
    floor = np.average([max(hair[test][gender[test] == g].mean(), 1 - hair[test][gender[test] == g].mean())
                        for g in (0, 1)], weights=[(gender[test] == g).sum() for g in (0, 1)])
    assert within.loc["hair_length", "majority class"] == pytest.approx(100 * floor)
    assert within.loc["skin_tone", "accuracy"] > within.loc["skin_tone", "majority class"] + 5  # its own signal stays


def _runs(losses: dict, train=0.9, test=0.6):
    return {run: ({"history": np.array(loss), "gates": np.ones((4, 6))},
                  {"train_accuracy": train, "accuracy": acc, "mean_gflops": 1.0, "full_gflops": 1.0})
            for (run, loss), acc in zip(losses.items(), test if isinstance(test, list) else [test] * len(losses))}


def test_variants_are_compared_only_after_a_plateau_and_beyond_the_seeds_spread():
    flat, falling = [3.0] * 5 + [1.0] * 6, list(np.linspace(3.0, 1.0, 11))
    plateaus = gates.plateau_table(_runs({("resnet", 0): flat, ("resnet", 1): falling}))
    assert plateaus["plateau"].tolist() == [True, False]
    assert plateaus.loc[("resnet", 1), "loss drop over the last 5 epochs"] == pytest.approx((2.0 - 1.0) / 2.0)
    text = gates.comparison_reading(plateaus)
    assert text.startswith("This run cannot compare the variants: 1 of its 2 networks had not reached a plateau")
    runs = _runs({("resnet", 0): flat, ("resnet", 1): flat, ("aig-0.4", 0): flat, ("aig-0.4", 1): flat},
                 test=[0.60, 0.70, 0.50, 0.55])
    assert "the gates cost accuracy" in gates.comparison_reading(gates.plateau_table(runs))
    runs = _runs({("resnet", 0): flat, ("resnet", 1): flat, ("aig-0.4", 0): flat, ("aig-0.4", 1): flat},
                 test=[0.60, 0.70, 0.65, 0.68])
    assert "overlap: no difference this run can show" in gates.comparison_reading(gates.plateau_table(runs))


def test_an_aig_network_is_held_to_its_target_rate():
    runs = {}
    for variant, rate in (("aig-0.4", 0.4), ("aig-0.7", 0.95)):
        open_ = np.zeros((100, 6))
        open_[:, [0, -1]] = 1
        open_[: int(100 * rate), 1:-1] = 1
        runs[(variant, 0)] = ({"gates": open_}, {"mean_gflops": 0.5, "full_gflops": 1.0})
    runs[("resnet", 0)] = ({"gates": np.ones((100, 6))}, {"mean_gflops": 1.0, "full_gflops": 1.0})
    table = gates.rate_table(runs, 6)
    assert table.index.tolist() == ["aig-0.4", "aig-0.7"]
    assert table.loc["aig-0.4", "achieved rate"] == pytest.approx(0.4) and table.loc["aig-0.4", "target met"]
    assert table.loc["aig-0.7", "achieved rate"] == pytest.approx(0.95) and not table.loc["aig-0.7", "target met"]
    assert table.loc["aig-0.7", "executed share of the full cost"] == pytest.approx(0.5)
