"""Rank-2 choices of the identity models, and two-alternative observer judgements of them.

A model's rank-2 identity for a target face (its frontal image) is the class with the
second-highest logit, counted only where the highest is the target itself: the face the
model finds "most similar" to the target. Each pretraining side has five identity
models (seeds); a side's choice for a target is the identity most of its seeds chose.

Observers then see the target and the two sides' choices and pick the face more similar
to the target (the paper's section 3.4). Their choices come as a CSV file in the format
of `read_choices`; the demo simulates them (`simulate_observers`) from the synthetic
faces' parameters, always labelled as simulated.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import faces
from ..data.datasets import DatasetError, read_csv

__all__ = [
    "CHOICE_COLUMNS",
    "INTERNAL_PARAMS",
    "EXTERNAL_PARAMS",
    "rank2_choices",
    "side_choices",
    "trial_list",
    "read_choices",
    "score_choices",
    "observer_summary",
    "simulate_observers",
    "feature_distance",
]

#: Columns of an observer-choices CSV: one row per trial.
CHOICE_COLUMNS = ("observer", "target", "option_a", "option_b", "chosen")

#: Face parameters of the internal features (eyes, brows, nose, mouth) and the external
#: ones (head shape, jaw, chin, ears, hair). Skin tone and facial hair are in neither.
INTERNAL_PARAMS = (
    "eye_spacing", "eye_size", "eye_height", "brow_thickness", "brow_height", "brow_tilt",
    "nose_length", "nose_width", "nose_protrusion", "mouth_width", "lip_thickness",
)
EXTERNAL_PARAMS = (
    "head_width", "head_height", "head_depth", "jaw_width", "chin_length", "ear_size",
    "hair_tone", "hair_length", "hair_volume", "hairline",
)


def rank2_choices(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The rank-2 class per face, or -1 where the rank-1 class is not the target.

    Parameters
    ----------
    logits : (n_faces, n_classes)
    targets : (n_faces,) the true class of each face
    """
    logits = np.asarray(logits)
    ranked = np.argsort(-logits, axis=1, kind="stable")
    return np.where(ranked[:, 0] == np.asarray(targets), ranked[:, 1], -1)


def side_choices(logits_by_seed: np.ndarray, targets: np.ndarray) -> pd.DataFrame:
    """One pretraining side's choice per target from its seeds' logits.

    The choice is the rank-2 identity chosen by most seeds (among seeds whose rank-1 is
    the target); a tie goes to the candidate with the larger summed logit over those
    seeds. ``agreement`` is the share of valid seeds that chose it.

    Parameters
    ----------
    logits_by_seed : (n_seeds, n_faces, n_classes)
    targets : (n_faces,)

    Returns
    -------
    DataFrame indexed by target with columns ``choice`` (-1: no valid seed),
    ``agreement``, ``valid_seeds``.
    """
    logits_by_seed = np.asarray(logits_by_seed, dtype=float)
    choices = np.stack([rank2_choices(l, targets) for l in logits_by_seed])  # (seeds, faces)
    rows = []
    for f, target in enumerate(targets):
        valid = choices[:, f] >= 0
        if not valid.any():
            rows.append((target, -1, 0.0, 0))
            continue
        candidates, counts = np.unique(choices[valid, f], return_counts=True)
        summed = logits_by_seed[valid, f][:, candidates].sum(axis=0)
        best = np.lexsort((summed, counts))[-1]  # most votes, then largest summed logit
        rows.append((target, int(candidates[best]), counts[best] / valid.sum(), int(valid.sum())))
    return pd.DataFrame(rows, columns=["target", "choice", "agreement", "valid_seeds"]).set_index("target")


def trial_list(imagenet: pd.DataFrame, vggface: pd.DataFrame) -> pd.DataFrame:
    """The two-alternative trials: targets where both sides chose and chose differently.

    Returns columns ``target``, ``imagenet_choice``, ``vggface_choice``.
    """
    both = imagenet[["choice"]].join(vggface[["choice"]], lsuffix="_imagenet", rsuffix="_vggface")
    keep = (both.choice_imagenet >= 0) & (both.choice_vggface >= 0) & (both.choice_imagenet != both.choice_vggface)
    out = both[keep].reset_index()
    return out.rename(columns={"choice_imagenet": "imagenet_choice", "choice_vggface": "vggface_choice"})[
        ["target", "imagenet_choice", "vggface_choice"]
    ]


def read_choices(path: str | os.PathLike) -> pd.DataFrame:
    """Read an observer-choices CSV.

    Format: a header row with the columns ``observer,target,option_a,option_b,chosen``
    (other columns are kept), then one row per trial. ``observer`` is any label;
    ``target``, ``option_a``, ``option_b`` and ``chosen`` are identity numbers of the
    face set (as in the exported trial list); ``chosen`` must be one of the two options.

    Raises
    ------
    DatasetError
        naming the file, the row (as numbered in a spreadsheet, header = row 1) and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file; put the observers' choices there (columns {','.join(CHOICE_COLUMNS)})")
    table = read_csv(path, dtype=str, skipinitialspace=True)
    missing = [c for c in CHOICE_COLUMNS if c not in table.columns]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {missing}; the header must name {','.join(CHOICE_COLUMNS)}")
    if table.empty:
        raise DatasetError(f"{path}: no trials below the header")
    for column in CHOICE_COLUMNS:
        blank = table[column].isna() | (table[column].str.strip() == "")
        if blank.any():
            row = int(np.flatnonzero(blank.to_numpy())[0]) + 2
            raise DatasetError(f"{path}, row {row}: column {column!r} is empty; every trial needs all five values")
    for column in CHOICE_COLUMNS[1:]:
        numbers = pd.to_numeric(table[column], errors="coerce")
        bad = numbers.isna() | (numbers % 1 != 0) | (numbers < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise DatasetError(
                f"{path}, row {row}: {column} = {table[column].iloc[row - 2]!r} is not an identity number "
                "(a whole number >= 0, as in the trial list)"
            )
        table[column] = numbers.astype(int)
    wrong = (table.chosen != table.option_a) & (table.chosen != table.option_b)
    if wrong.any():
        row = int(np.flatnonzero(wrong.to_numpy())[0]) + 2
        r = table.iloc[row - 2]
        raise DatasetError(f"{path}, row {row}: chosen {r.chosen} is neither option_a ({r.option_a}) nor option_b ({r.option_b})")
    same = table.option_a == table.option_b
    if same.any():
        row = int(np.flatnonzero(same.to_numpy())[0]) + 2
        raise DatasetError(f"{path}, row {row}: option_a and option_b are the same face; a trial shows two different faces")
    repeated = table.duplicated(["observer", "target"])
    if repeated.any():
        row = int(np.flatnonzero(repeated.to_numpy())[0]) + 2
        raise DatasetError(f"{path}, row {row}: observer {table.observer.iloc[row - 2]!r} judged target "
                           f"{table.target.iloc[row - 2]} twice; keep one row per observer and target")
    return table


def score_choices(choices: pd.DataFrame, trials: pd.DataFrame, *, path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Mark each observer choice as picking the VGGFace-side face (``vggface_side``).

    Choices whose target and options do not match a trial of `trials` raise a
    `DatasetError`: the observer saw a pair that is not in this run's trial list. With the
    `path` the choices were read from (`read_choices`, rows in file order) the message
    names the file and the row.
    """
    merged = choices.merge(trials, on="target", how="left")
    expected = np.array([
        {a, b} == {i, v} if not pd.isna(i) else False
        for a, b, i, v in zip(merged.option_a, merged.option_b, merged.imagenet_choice, merged.vggface_choice)
    ])
    if not expected.all():
        k = int(np.flatnonzero(~expected)[0])
        r = merged.iloc[k]
        where = f"{path}, row {k + 2}: " if path is not None else ""
        pair = ("is not a target of this run's trial list" if pd.isna(r.imagenet_choice)
                else f"options {r.option_a} and {r.option_b} are not this run's rank-2 pair for that target")
        raise DatasetError(
            f"{where}observer {r.observer!r}, target {r.target}: {pair}; were the choices made on another run's "
            "trial list? Run the observers on the trials.csv this run wrote"
        )
    merged["vggface_side"] = merged.chosen == merged.vggface_choice
    return merged


def observer_summary(scored: pd.DataFrame) -> dict:
    """The paper's analysis of scored choices.

    Returns
    -------
    dict with ``per_observer`` (% VGGFace-side choices per observer), ``mean``, ``sem``,
    ``n``, the one-sample t-test against 50 % (``t``, ``dof``, ``p``, from pingouin),
    and ``per_target`` (fraction of observers choosing the VGGFace-side face, sorted).
    """
    import pingouin as pg

    per_observer = 100 * scored.groupby("observer")["vggface_side"].mean()
    test = pg.ttest(per_observer.to_numpy(), 50.0).iloc[0]
    per_target = scored.groupby("target")["vggface_side"].mean().sort_values()
    return {
        "per_observer": per_observer, "mean": float(per_observer.mean()),
        "sem": float(per_observer.sem()), "n": int(len(per_observer)),
        "t": float(test["T"]), "dof": float(test["dof"]), "p": float(test["p_val"]),
        "per_target": per_target,
    }


def feature_distance(params: np.ndarray, a: np.ndarray, b: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """RMS difference of the standardised parameters `names` between identities a[i] and
    b[i] (`params` has one row per identity number)."""
    columns = [faces.PARAM_NAMES.index(n) for n in names]
    scale = faces.param_scale()[columns]
    return np.linalg.norm((params[a][:, columns] - params[b][:, columns]) / scale, axis=1) / np.sqrt(len(columns))


def simulate_observers(
    params: np.ndarray,
    trials: pd.DataFrame,
    *,
    n_observers: int = 46,
    internal_weight: float = 0.5,
    weight_sd: float = 0.15,
    noise: float = 0.3,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulated observers' choices on `trials`, in the `read_choices` format.

    Observer k has a weight w_k ~ Normal(internal_weight, weight_sd), clipped to [0, 1],
    on the internal features. For a trial they judge each option's dissimilarity to the
    target as w_k * d_internal + (1 - w_k) * d_external + Normal(0, noise), where d is the
    RMS difference of the standardised face parameters of that group
    (`INTERNAL_PARAMS`, `EXTERNAL_PARAMS`), and choose the less dissimilar option. The
    option order on screen (a/b) is random.
    """
    rng = np.random.default_rng(seed)
    params = np.asarray(params, dtype=float)
    t = trials.target.to_numpy()
    options = trials[["imagenet_choice", "vggface_choice"]].to_numpy()
    d_int = np.stack([feature_distance(params, t, options[:, s], INTERNAL_PARAMS) for s in range(2)], axis=1)
    d_ext = np.stack([feature_distance(params, t, options[:, s], EXTERNAL_PARAMS) for s in range(2)], axis=1)
    weights = np.clip(rng.normal(internal_weight, weight_sd, n_observers), 0.0, 1.0)
    rows = []
    for k, w in enumerate(weights):
        judged = w * d_int + (1 - w) * d_ext + rng.normal(0.0, noise, d_int.shape)
        picked = options[np.arange(len(t)), judged.argmin(axis=1)]
        swap = rng.random(len(t)) < 0.5
        a = np.where(swap, options[:, 1], options[:, 0])
        b = np.where(swap, options[:, 0], options[:, 1])
        rows.append(pd.DataFrame({"observer": f"sim{k:02d}", "target": t, "option_a": a, "option_b": b,
                                  "chosen": picked, "internal_weight": round(float(w), 3)}))
    return pd.concat(rows, ignore_index=True)
