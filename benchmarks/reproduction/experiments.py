"""The experiments, as data: the tables, their rows and flagfiles, the evaluations of each run,
the papers' numbers and claims (the budgets are in the rows' flagfiles, read by the report).

Nothing here trains, evaluates or reads a run directory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Table:
    """A results table: its rows and how each is run.

    Attributes:
      rows: ``(row, label)`` pairs; the row names its flagfile ``{configs}/{row}.flags``.
      configs: the folder of the rows' flagfiles, relative to the repository root.
      data: the records its rows train on, ``"lspet"`` or ``"synthetic"``.
      single_run: one run per row (seed 0, no seed folder); else one per seed.
      third_seed: a claim within the seed spread gets a third seed; every seed on disk is read.
      model_file: the file evaluated (:attr:`RunSpec.model_file`).
      flip_test: also evaluate with flip test (:attr:`RunSpec.flip_test`).
      evals: named evaluations replacing the default ones (:attr:`RunSpec.evals`).
    """

    rows: tuple[tuple[str, str], ...]
    configs: str
    data: str
    single_run: bool = False
    third_seed: bool = False
    model_file: str = "model.keras"
    flip_test: bool = False
    evals: tuple[tuple[str, tuple[str, ...]], ...] = ()


MAX_SEEDS = 3
LSP_COLUMNS = ("Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank")


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One training run of a results table.

    Attributes:
      table: one of :data:`TABLES`.
      row: the row's name (also its folder and flagfile stem).
      label: the row's label in the documents.
      flagfile: path of its flagfile, relative to the repository root.
      data: ``"lspet"`` or ``"synthetic"`` (which ``--*_records`` folder it trains on).
      seed: the ``--seed`` of the run.
      model_file: the file evaluated: ``best.keras`` (selected on val) or ``model.keras``.
      flip_test: also evaluate with flip test.
      evals: named evaluations ``(name, extra evaluate flags)`` replacing the default
        ``test`` / ``test_flip`` ones (each with ``--split=test``).
    """

    table: str
    row: str
    label: str
    flagfile: str
    data: str
    seed: int
    model_file: str = "model.keras"
    flip_test: bool = False
    evals: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def run_dir(self, runs_dir: Path) -> Path:
        if TABLE_KINDS[self.table].single_run:
            return runs_dir / self.table / self.row
        return runs_dir / self.table / self.row / f"seed{self.seed}"


# ---- Real photos: LSPET with ImageNet backbones (configs/lspet/).
REAL_PHOTO_ROWS = (
    ("recurrent_mobilenet_v2", "Recurrent (Belagiannis) on ImageNet MobileNetV2"),
    ("cascade_mobilenet_v2", "Part heatmap regression (Bulat) on ImageNet MobileNetV2"),
)
# Every real-photo model is scored on the test split as a user meets it (the whole photo, the
# predictor finding the person: one pass, or a second pass on the joints found) and on the
# evaluation crops around the annotated person, each with and without the flip test.
REAL_PHOTO_EVALS = (
    ("whole_refine1_flip", ("--region=whole_image", "--refine=1", "--flip_test")),
    ("whole_refine1", ("--region=whole_image", "--refine=1", "--noflip_test")),
    ("whole_refine0_flip", ("--region=whole_image", "--refine=0", "--flip_test")),
    ("whole_refine2_flip", ("--region=whole_image", "--refine=2", "--flip_test")),
    ("crops_flip", ("--flip_test",)),
    ("crops", ("--noflip_test",)),
)
REAL_PHOTO_EVAL_LABELS = {
    "whole_refine1_flip": "whole photo, 2 passes, flip test",
    "whole_refine1": "whole photo, 2 passes",
    "whole_refine0_flip": "whole photo, 1 pass, flip test",
    "whole_refine2_flip": "whole photo, 3 passes, flip test",
    "crops_flip": "annotation crop, flip test",
    "crops": "annotation crop",
}

# ---- LSPET, tiny models from random weights (configs/lspet/).
LSPET_ROWS = (
    ("recurrent_tiny", "Recurrent (Belagiannis), recurrent_tiny"),
    ("recurrent_tiny_long", "Recurrent (Belagiannis), recurrent_tiny, 3× steps"),
    ("cascade_resnet_tiny", "Residual cascade (Bulat), cascade_resnet_tiny"),
    ("cascade_vgg_tiny", "VGG-FCN cascade (Bulat), cascade_vgg_tiny"),
)

# ---- The papers' ablations on the synthetic set (configs/ablations/synthetic/).
BELAGIANNIS_ROWS = (
    ("recurrent_exclude_T0", "Keypoints, exclude occluded, T=0"),
    ("recurrent_ignore_T0", "Keypoints, ignore occluded, T=0"),
    ("recurrent_include_T0", "Keypoints, include occluded, T=0"),
    ("recurrent_include_T1", "+ 1 iteration (T=1)"),
    ("recurrent_include_T2", "+ 2 iterations (T=2)"),
    ("recurrent_include_T2_limbs", "+ limb maps (T=2)"),
)
BULAT_ROWS = (
    ("cascade_resnet_detection_regression", "Detection + regression (the method)"),
    ("cascade_resnet_detection_only", "Detection only"),
    ("cascade_resnet_regression_only", "Regression only"),
    ("cascade_resnet_regression_regression", "Regression + regression"),
)

# The papers' numbers, only those whose table cell can be read unambiguously in
# ../shared/papers (see the notes written into docs/results.md).
BELAGIANNIS_PAPER = {  # Table I, MPII validation PCKh@0.5 (total column)
    "recurrent_exclude_T0": 80.3,
    "recurrent_ignore_T0": 81.4,
    "recurrent_include_T0": 82.8,
    "recurrent_include_T1": 83.6,
    "recurrent_include_T2": 83.6,
    "recurrent_include_T2_limbs": 84.6,
}

# Claims: (text, metric key, row expected better, row expected worse[, kind]); kind "greater"
# (default: the first row beats the second) or "not_greater" (the first does not beat it).
BELAGIANNIS_CLAIMS = (
    ("include > ignore (Table I)", "mean", "recurrent_include_T0", "recurrent_ignore_T0"),
    ("ignore > exclude (Table I)", "mean", "recurrent_ignore_T0", "recurrent_exclude_T0"),
    ("include > exclude (Table I)", "mean", "recurrent_include_T0", "recurrent_exclude_T0"),
    ("T=1 > T=0 (Table I)", "mean", "recurrent_include_T1", "recurrent_include_T0"),
    (
        "T=2 ≈ T=1 (Table I: 83.6 both; listed as T=2 > T=1)",
        "mean",
        "recurrent_include_T2",
        "recurrent_include_T1",
    ),
    (
        "limb maps > none at T=2 (Table I)",
        "mean",
        "recurrent_include_T2_limbs",
        "recurrent_include_T2",
    ),
    (
        "visibility AP: exclude > include (Fig. 7)",
        "visibility_ap",
        "recurrent_exclude_T0",
        "recurrent_include_T0",
    ),
    (
        "visibility AP: exclude > ignore (Fig. 7)",
        "visibility_ap",
        "recurrent_exclude_T0",
        "recurrent_ignore_T0",
    ),
)
BULAT_CLAIMS = (
    (
        "detection + regression > detection only",
        "mean",
        "cascade_resnet_detection_regression",
        "cascade_resnet_detection_only",
    ),
    (
        "regression only > detection only",
        "mean",
        "cascade_resnet_regression_only",
        "cascade_resnet_detection_only",
    ),
    (
        "detection + regression > regression + regression",
        "mean",
        "cascade_resnet_detection_regression",
        "cascade_resnet_regression_regression",
    ),
)

# ---- The papers' ablations on LSPET with an ImageNet MobileNetV2 (configs/ablations/lspet/).
# Every row is scored on LSPET test as PCK@0.2 (14 joints) with the flip test, on the
# annotation crops; the final model (model.keras) of every row, no selection. The budget of
# every row is in its flagfile (configs/ablations/lspet/*_common.flags).
LSPET_ABLATION_EVALS = (("test_flip", ("--flip_test",)),)
BELAGIANNIS_LSPET_ROWS = (
    ("recurrent_T0", "Keypoints, T=0"),
    ("recurrent_T1", "+ 1 iteration (T=1)"),
    ("recurrent_T2", "+ 2 iterations (T=2)"),
    ("recurrent_T2_limbs", "+ limb maps (T=2)"),
)
# The paper's Table I row each LSPET row stands for (LSPET has no occlusion labels, so the
# keypoint rows are the "include occluded" ones: see sections.belagiannis_lspet_section).
BELAGIANNIS_LSPET_PAPER = {
    "recurrent_T0": BELAGIANNIS_PAPER["recurrent_include_T0"],
    "recurrent_T1": BELAGIANNIS_PAPER["recurrent_include_T1"],
    "recurrent_T2": BELAGIANNIS_PAPER["recurrent_include_T2"],
    "recurrent_T2_limbs": BELAGIANNIS_PAPER["recurrent_include_T2_limbs"],
}
# Table I rows that LSPET's labels cannot test (label, the paper's PCKh).
BELAGIANNIS_LSPET_UNTESTABLE = (
    ("Keypoints, exclude occluded, T=0", BELAGIANNIS_PAPER["recurrent_exclude_T0"]),
    ("Keypoints, ignore occluded, T=0", BELAGIANNIS_PAPER["recurrent_ignore_T0"]),
)
BULAT_LSPET_ROWS = (
    ("cascade_detection_regression", "Detection + regression (the method), staged"),
    ("cascade_detection_only", "Detection only"),
    ("cascade_regression_only", "Regression only"),
    ("cascade_regression_regression", "Regression + regression, staged"),
    ("cascade_detection_regression_end_to_end", "Detection + regression, end to end"),
)
# Claim texts may name the paper's numbers of BELAGIANNIS_LSPET_PAPER as {row}.
BELAGIANNIS_LSPET_CLAIMS = (
    (
        "T=1 > T=0 (Table I: {recurrent_T1} vs {recurrent_T0})",
        "mean",
        "recurrent_T1",
        "recurrent_T0",
    ),
    (
        "T=2 does not beat T=1 (Table I: {recurrent_T2} vs {recurrent_T1}, "
        "'one iteration is sufficient')",
        "mean",
        "recurrent_T2",
        "recurrent_T1",
        "not_greater",
    ),
    (
        "limb maps > none at T=2 (Table I: {recurrent_T2_limbs} vs {recurrent_T2})",
        "mean",
        "recurrent_T2_limbs",
        "recurrent_T2",
    ),
)
BULAT_LSPET_CLAIMS = (
    (
        "detection + regression > detection only ('a large boost')",
        "mean",
        "cascade_detection_regression",
        "cascade_detection_only",
    ),
    (
        "regression only > detection only",
        "mean",
        "cascade_regression_only",
        "cascade_detection_only",
    ),
    (
        "detection + regression > regression + regression ('significantly outperforms')",
        "mean",
        "cascade_detection_regression",
        "cascade_regression_regression",
    ),
    (
        "staged > end to end (the paper trains in stages; it states no comparison)",
        "mean",
        "cascade_detection_regression",
        "cascade_detection_regression_end_to_end",
    ),
)
LSPET_CLAIMS = {"belagiannis_lspet": BELAGIANNIS_LSPET_CLAIMS, "bulat_lspet": BULAT_LSPET_CLAIMS}
# The row whose level says whether a table's comparisons mean something, and its name.
LSPET_METHODS = {
    "belagiannis_lspet": ("recurrent_T2_limbs", "The paper's final model (T=2 with limb maps)"),
    "bulat_lspet": ("cascade_detection_regression", "The method (detection + regression, staged)"),
}
# The bar for a comparison that means something: the method's row at >= 60 PCK@0.2.
LSPET_ABLATION_LEVEL = 60.0


# ---- The tables, in the order of docs/results.md.
TABLE_KINDS = {
    "real_photos": Table(
        REAL_PHOTO_ROWS,
        "configs/lspet",
        "lspet",
        single_run=True,
        model_file="best.keras",
        evals=REAL_PHOTO_EVALS,
    ),
    "lspet": Table(
        LSPET_ROWS,
        "configs/lspet",
        "lspet",
        single_run=True,
        model_file="best.keras",
        flip_test=True,
    ),
    "belagiannis_table1": Table(BELAGIANNIS_ROWS, "configs/ablations/synthetic", "synthetic"),
    "belagiannis_lspet": Table(
        BELAGIANNIS_LSPET_ROWS,
        "configs/ablations/lspet",
        "lspet",
        third_seed=True,
        evals=LSPET_ABLATION_EVALS,
    ),
    "bulat_table5": Table(BULAT_ROWS, "configs/ablations/synthetic", "synthetic"),
    "bulat_lspet": Table(
        BULAT_LSPET_ROWS,
        "configs/ablations/lspet",
        "lspet",
        third_seed=True,
        evals=LSPET_ABLATION_EVALS,
    ),
}
TABLES = tuple(TABLE_KINDS)
# Tables trained on the LSPET records (the others on the synthetic set).
LSPET_TABLES = tuple(name for name, kind in TABLE_KINDS.items() if kind.data == "lspet")
# Ablations on LSPET that get a third seed where a claim lies within the seed spread.
SEEDED_LSPET_TABLES = tuple(name for name, kind in TABLE_KINDS.items() if kind.third_seed)


def table_specs(table: str, seeds: Sequence[int]) -> list[RunSpec]:
    """The runs of ``table`` (one of :data:`TABLES`): one per row, or per row and seed."""
    kind = TABLE_KINDS.get(table)
    if kind is None:
        raise ValueError(f"--table must be one of {TABLES + ('all',)}, got {table!r}")
    return [
        RunSpec(
            table,
            row,
            label,
            f"{kind.configs}/{row}.flags",
            kind.data,
            seed,
            kind.model_file,
            kind.flip_test,
            kind.evals,
        )
        for row, label in kind.rows
        for seed in ((0,) if kind.single_run else seeds)
    ]


def eval_flags(spec: RunSpec) -> list[tuple[str, tuple[str, ...]]]:
    """``(name, extra evaluate flags)`` of every evaluation of ``spec``."""
    if spec.evals:
        return list(spec.evals)
    names = [("test", ("--noflip_test",))]
    if spec.flip_test:
        names.append(("test_flip", ("--flip_test",)))
    return names


def eval_names(spec: RunSpec) -> list[str]:
    return [name for name, _ in eval_flags(spec)]
