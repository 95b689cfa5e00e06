"""COCO's own keypoint metric: AP and AR by OKS, computed by pycocotools' ``COCOeval``.

COCO scores keypoints by object keypoint similarity (https://cocodataset.org/#keypoints-eval),
for a prediction and an annotated person::

    OKS = Σ_i exp(-d_i² / (2 s² k_i²)) [v_i > 0] / Σ_i [v_i > 0]

with d_i the distance of joint i from its annotation, s² the person's annotated ``area`` and
k_i = 2σ_i COCO's per-joint constant. AP is the precision averaged over OKS thresholds 0.50,
0.55, …, 0.95 (AP50 and AP75 at one threshold; APm and APl for persons of area 32²–96² and
above 96² px²), AR the recall likewise. tfpose does not reimplement it: the numbers come from
the reference implementation (``pycocotools.cocoeval.COCOeval``, ``iouType="keypoints"``), on a
ground-truth file built from the records (:func:`ground_truth`) and the results file that
``python -m tfpose.evaluate`` writes (:func:`tfpose.evaluation.report.coco_entries`).

The records keep COCO's image ids and areas (``image/coco_id``, ``person/area``), so the ground
truth here matches the official annotation file for the persons converted, and the results file
can be scored against the official file as well. Crowd annotations and persons without a
labelled keypoint are not converted; COCOeval ignores them in the official file, except that a
prediction matching no converted person but lying on one of them is ignored there and a false
positive here. Records converted before ids and areas were kept still score: ids then come from
the image names (COCO's are the ids), areas from the box around the labelled joints, which is
not COCO's area; the result says which.

Evaluation crops are cut around each annotated person, so this is COCO AP with ground-truth
person boxes (one prediction per annotated person), not a detector's.

Shape legend: N persons, K = 17 keypoints; points are (x, y) image pixels.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfpose.data.example import NO_COCO_ID
from tfpose.inference.results import PERSON_CATEGORY_ID, image_ids
from tfpose.skeletons import COCO, Skeleton

# COCOeval.stats, in order (summarize() for iouType "keypoints").
STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
# The columns of the printed table.
TABLE_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR")

AREAS_KEPT = "the COCO annotation areas kept in the records"
AREAS_FROM_KEYPOINTS = (
    "boxes around the labelled joints (the records keep no COCO area: convert them again "
    "for the official numbers)"
)


def applies(skeleton: Skeleton, record_skeleton: str) -> bool:
    """COCO's metric needs COCO's joints: the model's and the records' skeleton both COCO."""
    return skeleton.name == COCO.name and record_skeleton == COCO.name


def person_category(skeleton: Skeleton = COCO) -> dict[str, Any]:
    """The ``person`` category of a COCO keypoints file (1-based ``skeleton`` limbs)."""
    return {
        "id": PERSON_CATEGORY_ID,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(skeleton.joint_names),
        "skeleton": [[a + 1, b + 1] for a, b in skeleton.limbs],
    }


def image_ids_of(names: Sequence[str], coco_ids: Sequence[int] | None = None) -> list[int]:
    """Integer image id per person: the records' COCO ids when every person has one, else
    the ids :func:`tfpose.inference.results.image_ids` gives the image names."""
    if coco_ids is not None and len(coco_ids) and all(int(i) != NO_COCO_ID for i in coco_ids):
        return [int(i) for i in coco_ids]
    return image_ids(list(names))


def keypoint_box(keypoints: np.ndarray, labelled: np.ndarray) -> list[float]:
    """``[x, y, width, height]`` of the labelled joints (zeros when none is)."""
    if not labelled.any():
        return [0.0, 0.0, 0.0, 0.0]
    points = np.asarray(keypoints, np.float64)[labelled]
    low, high = points.min(axis=0), points.max(axis=0)
    return [float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])]


def ground_truth(
    keypoints: np.ndarray,
    visibility: np.ndarray,
    ids: Sequence[int],
    areas: np.ndarray | None = None,
    image_sizes: np.ndarray | None = None,
    file_names: Sequence[str] | None = None,
    skeleton: Skeleton = COCO,
) -> dict[str, Any]:
    """A COCO keypoints ground-truth file (a dict) of N annotated persons.

    Args:
      keypoints: [N, K, 2].
      visibility: [N, K] 0 not labelled, 1 labelled occluded, 2 visible (COCO's own flags).
      ids: [N] integer image ids (several persons may share one).
      areas: [N] COCO areas; where absent or <= 0, the area of the labelled joints' box.
      image_sizes: [N, 2] (height, width), or None.
      file_names: [N] image names, or None.
      skeleton: the joint order (COCO's).

    Returns:
      ``{"images", "annotations", "categories"}``: one image per distinct id, one annotation per
      person (``id`` 1…N, ``iscrowd`` 0, ``num_keypoints``, ``bbox`` of the labelled joints,
      ``area``, unlabelled joints as 0, 0, 0).
    """
    keypoints = np.asarray(keypoints, np.float64)
    visibility = np.asarray(visibility)
    images: dict[int, dict[str, Any]] = {}
    annotations = []
    for n, image_id in enumerate(ids):
        image_id = int(image_id)
        if image_id not in images:
            image: dict[str, Any] = {"id": image_id}
            if file_names is not None:
                image["file_name"] = str(file_names[n])
            if image_sizes is not None:
                image["height"], image["width"] = (int(v) for v in image_sizes[n])
            images[image_id] = image
        labelled = visibility[n] > 0
        triples = np.concatenate([keypoints[n], visibility[n][:, None]], axis=1)
        triples[~labelled] = 0.0
        box = keypoint_box(keypoints[n], labelled)
        area = float(areas[n]) if areas is not None and areas[n] > 0 else box[2] * box[3]
        annotations.append(
            {
                "id": n + 1,  # COCOeval counts a match to annotation id 0 as no match
                "image_id": image_id,
                "category_id": PERSON_CATEGORY_ID,
                "keypoints": [float(v) for v in triples.reshape(-1)],
                "num_keypoints": int(labelled.sum()),
                "bbox": box,
                "area": area,
                "iscrowd": 0,
            }
        )
    return {
        "images": list(images.values()),
        "annotations": annotations,
        "categories": [person_category(skeleton)],
    }


def _pycocotools():
    try:
        from pycocotools.coco import COCO as CocoApi
        from pycocotools.cocoeval import COCOeval
    except ImportError as e:  # an install older than the dependency
        raise ImportError(
            f"COCO's keypoint AP is computed by pycocotools, which does not import ({e}); "
            "install it with `pip install pycocotools` (or reinstall tfpose)"
        ) from e
    return CocoApi, COCOeval


def evaluate(ground_truth_file: dict[str, Any], results: list[dict[str, Any]]):
    """Runs ``COCOeval(iouType="keypoints")``: evaluate, accumulate, summarize.

    Args:
      ground_truth_file: a COCO keypoints file as a dict (e.g. :func:`ground_truth`, or an
        official ``person_keypoints_*.json`` loaded).
      results: COCO keypoint results (image ids of the ground truth).

    Returns:
      The ``pycocotools.cocoeval.COCOeval``: ``stats`` (:data:`STAT_NAMES`), ``ious``
      ({(image id, 1): OKS [results, annotations]}), ``evalImgs``, ... Its printing is kept off
      stdout.
    """
    if not results:
        raise ValueError("no results to score with COCO's keypoint AP")
    coco_api, coco_eval = _pycocotools()
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco_api()
        coco_gt.dataset = copy.deepcopy(ground_truth_file)
        coco_gt.createIndex()
        # loadRes adds id, area and bbox to each result it is given: give it copies.
        coco_dt = coco_gt.loadRes(copy.deepcopy(list(results)))
        cocoeval = coco_eval(coco_gt, coco_dt, iouType="keypoints")
        cocoeval.evaluate()
        cocoeval.accumulate()
        cocoeval.summarize()
    return cocoeval


def summary(cocoeval) -> dict[str, float | None]:
    """``{AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl}`` in percent; None where COCOeval
    has nothing to score (-1, e.g. APm without a medium-sized person)."""
    return {
        name: (None if value < 0 else 100.0 * float(value))
        for name, value in zip(STAT_NAMES, cocoeval.stats, strict=True)
    }


def keypoint_metrics(
    ground_truth_file: dict[str, Any], results: list[dict[str, Any]], areas_kept: bool
) -> dict[str, Any]:
    """COCO keypoint AP/AR of ``results`` on ``ground_truth_file`` as a ``metrics.json``
    entry: :func:`summary`, ``num_images``, ``num_persons``, ``areas_kept`` (whether the OKS
    scales are COCO's areas), ``areas`` (where they come from), ``implementation``, ``units``."""
    entry: dict[str, Any] = summary(evaluate(ground_truth_file, results))
    entry.update(
        num_images=len(ground_truth_file["images"]),
        num_persons=len(ground_truth_file["annotations"]),
        areas_kept=bool(areas_kept),
        areas=AREAS_KEPT if areas_kept else AREAS_FROM_KEYPOINTS,
        implementation="pycocotools COCOeval, iouType keypoints",
        units="percent",
    )
    return entry
