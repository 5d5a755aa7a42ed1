"""Every number the three papers publish that the book sets beside its own: one place, so a
correction is made once. Values are quoted as the papers print them."""

from __future__ import annotations

__all__ = ["FIGURE5", "FIGURE6_ANOVA", "FIGURE6_PAIRS", "FIGURE6_PAIR_CLAIMS", "FINETUNE_ACCURACY", "OBSERVERS",
           "OBSERVERS_TEXT", "GARG_TABLE_II", "DINIZ_TABLE_I"]

# Crawford, Margalit, Grill-Spector & Poltoratski (2020) ---------------------------------

#: Section 2.2: every fine-tuned model's validation accuracy.
FINETUNE_ACCURACY = "> 98 % for every model"

#: Section 3.1, Figure 5: two-way ANOVAs on AUC per task (between-subjects degrees of freedom).
FIGURE5 = {
    ("identity", "pretraining"): "F(1, 16) = 49.6, p = 2.8e-6",
    ("identity", "mask source"): "F(1, 16) = 1.88, p = 0.19",
    ("gender", "pretraining"): "F(1, 16) = 34.5, p = 2.4e-5",
    ("gender", "mask source"): "F(1, 16) = 0.09, p = 0.77",
}

#: Sections 3.2-3.3, Figure 6: the one-way ANOVAs on mask source per destination type.
FIGURE6_ANOVA = "all F(3, 16) > 3.3, all p < 0.05"

#: Figure 6's pairwise tests, by pair of mask sources (`statistics.FIGURE6_SOURCES` labels).
FIGURE6_PAIRS = {
    ("same init.", "same pretraining, other task"): "all p > 0.06 (no difference)",
    ("same init.", "other pretraining, same task"): "p < 0.03, except ImageNet-gender p > 0.08",
    ("same init.", "other pretraining, other task"): "p < 0.03, except ImageNet-gender p > 0.08",
    ("other pretraining, other task", "other pretraining, same task"): "all p > 0.92 (no difference)",
}

#: The same pairwise results as the per-claim statements of the paper-vs-run table.
FIGURE6_PAIR_CLAIMS = {
    "same init. vs other task": "all p > 0.06",
    "other pretraining vs same init., ImageNet gender": "p > 0.08",
    "other pretraining vs same init.": "p < 0.03",
    "other pretraining, same vs other task": "all p > 0.92",
}

#: Section 3.4, Figure 7c: 46 observers chose the VGGFace-side rank-2 face in 51.8 % of trials.
OBSERVERS = {"mean": 51.8, "sem": 0.77, "dof": 45, "t": 2.345, "p": 0.023, "n": 46}
OBSERVERS_TEXT = (f"{OBSERVERS['mean']} % ± {OBSERVERS['sem']}, t({OBSERVERS['dof']}) = {OBSERVERS['t']}, "
                  f"p = {OBSERVERS['p']}")

# Garg et al., interpretable inference graphs --------------------------------------------

#: Table II (IMDB-Face, 750 identities, ResNet-101 on faces scaled to 128 x 128): top-1
#: test accuracy (%) and the cost per image the table calls "GFlops", which are G
#: multiply-adds (see `facelrp.studies.gates.FLOPS_PER_MULTIPLY_ADD`); their second IIG
#: attribute was age, ours hair length.
GARG_TABLE_II = {
    "resnet": (60.69, 2.54), "aig-0.4": (62.07, 1.27), "aig-0.5": (60.85, 1.75), "aig-0.7": (61.15, 2.06),
    "iig-gender": (62.41, 1.73), "iig-gender-age (ours: second attribute hair length)": (62.29, 1.18),
}

# Diniz & Schwartz, face attribute probing ------------------------------------------------

#: Part of Table I (ResNet-50 on VGGFace2, probed on CelebA): accuracy (%) of the best
#: layer, filter and neuron per attribute, and of a multitask network.
DINIZ_TABLE_I = {
    "CelebA attribute": ["Male", "Eyeglasses", "Big Nose", "Narrow Eyes", "Brown Hair", "average of 40"],
    "best layer": [97.7, 98.3, 72.6, 71.3, 74.0, 83.1],
    "best filter": [96.4, 96.7, 69.6, 72.4, 67.3, 79.5],
    "best neuron": [96.2, 96.1, 68.7, 75.2, 64.2, 77.4],
    "multitask network": [98.2, 99.5, 83.9, 85.6, 86.2, 90.2],
}
