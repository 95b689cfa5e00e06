"""The ``tf.data`` input pipeline: records → parse → decode → crop/augment → targets → batches.

Everything runs as TensorFlow ops inside ``tf.data`` map functions (no ``py_function``), so the
pipeline scales with ``tf.data`` parallelism and its pieces can be reused in a serving graph.

Example::

    from tfpose.data import pipeline
    from tfpose.data.records import Manifest
    from tfpose.skeletons import LSP

    manifest = Manifest.load("runs/lspet_records")
    config = pipeline.belagiannis_config()
    dataset = pipeline.build_dataset(
        manifest.files("train"), LSP, config, training=True, batch_size=20, seed=0,
        deterministic=False,
    )
    features = next(iter(dataset))  # a dict, keys documented in build_dataset and
                                    # docs/pipeline.md

Shape legend: B batch, S input (crop) side, H × W heatmap (S / stride), K keypoints,
L limbs.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import random
from collections.abc import Sequence

import tensorflow as tf

from tfpose.data import targets as targets_lib
from tfpose.data import transforms
from tfpose.data.example import parse_example
from tfpose.data.records import MANIFEST_NAME, Manifest
from tfpose.skeletons import Skeleton, get_skeleton, joint_correspondence

# Metadata keys passed through from the record to the batch.
_PASSTHROUGH_KEYS = (
    "center",
    "scale",
    "head_box",
    "has_head_box",
    "image_id",
    "image_size",
    "occlusion_labelled",
    "coco_id",
    "area",
)
# Records parsed per op by build_dataset.
_PARSE_BATCH = 32
_GEOMETRY_KEYS = ("image", "keypoints", "visibility", "in_crop", "image_keypoints", "affine")


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """What the network sees and what it is trained to output.

    Attributes:
      input_size: crop side S in pixels.
      heatmap_stride: crop pixels per heatmap pixel (S must be a multiple).
      crop_convention: ``"bulat"``, ``"belagiannis"`` or ``"wide"`` (see
        :data:`tfpose.data.transforms.CROP_CONVENTIONS`).
      targets: the target heads; their names must be unique.
      occlusion_mode: ``"include"``, ``"ignore"`` or ``"exclude"`` for heads that do not set
        their own (see :mod:`tfpose.data.targets`).
      augmentation: random ranges, used when training.
      normalization: ``"unit"`` (RGB in [0, 1]) or ``"belagiannis"`` ((x − 128) / 256).
    """

    input_size: int = 256
    heatmap_stride: int = 1
    crop_convention: str = "bulat"
    targets: tuple[targets_lib.TargetSpec, ...] = (targets_lib.GaussianTarget(),)
    occlusion_mode: str = "include"
    augmentation: transforms.AugmentationConfig = transforms.AugmentationConfig()
    normalization: str = "unit"

    def __post_init__(self) -> None:
        if self.input_size <= 0 or self.heatmap_stride <= 0:
            raise ValueError(
                f"input_size and heatmap_stride must be positive, got {self.input_size} and "
                f"{self.heatmap_stride}"
            )
        if self.input_size % self.heatmap_stride:
            raise ValueError(
                f"input_size {self.input_size} is not a multiple of heatmap_stride "
                f"{self.heatmap_stride}"
            )
        for target in self.targets:
            if target.stride is not None and (
                target.stride <= 0 or self.input_size % target.stride
            ):
                raise ValueError(
                    f"target {target.name!r}: stride {target.stride} must be positive and "
                    f"divide input_size {self.input_size}"
                )
        if self.crop_convention not in transforms.CROP_CONVENTIONS:
            raise ValueError(
                f"crop_convention must be one of {sorted(transforms.CROP_CONVENTIONS)}, "
                f"got {self.crop_convention!r}"
            )
        modes = [self.occlusion_mode] + [t.occlusion_mode for t in self.targets]
        for mode in modes:
            if mode is not None and mode not in targets_lib.OCCLUSION_MODES:
                raise ValueError(
                    f"occlusion_mode must be one of {targets_lib.OCCLUSION_MODES}, got {mode!r}"
                )
        if self.normalization not in transforms.NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {transforms.NORMALIZATIONS}, "
                f"got {self.normalization!r}"
            )
        names = [t.name for t in self.targets]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"targets must be non-empty with unique names, got {names}")

    @property
    def heatmap_size(self) -> int:
        return self.input_size // self.heatmap_stride

    @property
    def crop(self) -> transforms.CropConvention:
        return transforms.CROP_CONVENTIONS[self.crop_convention]

    @property
    def target_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets)


def belagiannis_config(
    skeleton: Skeleton | None = None,
    *,
    with_limbs: bool = True,
    occlusion_mode: str = "include",
    input_size: int = 248,
    augmentation: transforms.AugmentationConfig | None = None,
) -> PipelineConfig:
    """Belagiannis & Zisserman: 300·scale box → 256, random 248 crop, grey padding,
    (x − 128)/256, 62 × 62 maps (stride 4), keypoint Gaussians σ = 1.3 with peak 12, limb maps.

    Args:
      skeleton: when given, checked to have limbs if ``with_limbs``.
      with_limbs: add the ``"limbs"`` head.
      occlusion_mode: ``"include"`` (the paper's best), ``"ignore"`` or ``"exclude"``.
      input_size: crop side (248 in the paper).
      augmentation: defaults to scale 0.7–1.3 and rotation ±40° (each p = 0.5) and flips.
    """
    if with_limbs and skeleton is not None and not skeleton.limbs:
        raise ValueError(f"skeleton {skeleton.name!r} has no limbs; use with_limbs=False")
    heads: list[targets_lib.TargetSpec] = [
        targets_lib.GaussianTarget(
            name="keypoints",
            sigma=targets_lib.BELAGIANNIS_SIGMA,
            sigma_units="heatmap",
            amplitude=targets_lib.BELAGIANNIS_AMPLITUDE,
        )
    ]
    if with_limbs:
        # The paper gives no separate peak for limb maps; they share the keypoints' 12 so the
        # two kinds of map weigh the same in the loss.
        heads.append(targets_lib.LimbTarget(amplitude=targets_lib.BELAGIANNIS_AMPLITUDE))
    return PipelineConfig(
        input_size=input_size,
        heatmap_stride=4,
        crop_convention="belagiannis",
        targets=tuple(heads),
        occlusion_mode=occlusion_mode,
        augmentation=augmentation or transforms.AugmentationConfig(),
        normalization="belagiannis",
    )


def bulat_config(
    skeleton: Skeleton | None = None,
    *,
    input_size: int = 256,
    heatmap_stride: int = 1,
    with_detection: bool = True,
    occlusion_mode: str = "include",
    augmentation: transforms.AugmentationConfig | None = None,
) -> PipelineConfig:
    """Bulat & Tzimiropoulos: 200·scale box → 256 (380 for VGG-FCN), RGB in [0, 1], detection
    discs (visible parts only) and regression Gaussians (σ 5 px per 200 px, peak 1, visible and
    occluded parts).

    Args:
      skeleton: unused; accepted so both presets are called alike.
      input_size: 256 (residual instance) or 380 (VGG-FCN instance).
      heatmap_stride: 1 for the residual instance's full-resolution maps.
      with_detection: add the ``"detection"`` head (disc maps).
      occlusion_mode: mode of the regression (``"keypoints"``) head.
      augmentation: defaults to scale 0.7–1.3 and rotation ±40° (each p = 0.5) and flips.
    """
    del skeleton
    heads: list[targets_lib.TargetSpec] = []
    if with_detection:
        heads.append(targets_lib.DiscTarget(occlusion_mode="exclude"))
    heads.append(
        targets_lib.GaussianTarget(
            name="keypoints",
            sigma=targets_lib.BULAT_SIGMA_PER_200PX,
            sigma_units="body",
            amplitude=1.0,
        )
    )
    return PipelineConfig(
        input_size=input_size,
        heatmap_stride=heatmap_stride,
        crop_convention="bulat",
        targets=tuple(heads),
        occlusion_mode=occlusion_mode,
        augmentation=augmentation or transforms.AugmentationConfig(),
        normalization="unit",
    )


CONFIGS = {"belagiannis": belagiannis_config, "bulat": bulat_config}


# ------------------------------------------------------------------------------------------
# Records.


def resolve_records(
    records: str | Sequence[str], split: str = "train"
) -> tuple[list[str], Skeleton | None]:
    """Record files named by manifest directories/files, TFRecord paths or glob patterns.

    Returns:
      (sorted file paths, the manifest's skeleton or None when no manifest was named).

    Raises:
      FileNotFoundError: a pattern matches nothing.
    """
    if isinstance(records, str):
        records = [r for r in records.split(",") if r]
    files: list[str] = []
    skeleton = None
    for entry in records:
        if os.path.isdir(entry) or os.path.basename(entry) == MANIFEST_NAME:
            manifest = Manifest.load(entry)
            files.extend(manifest.files(split))
            skeleton = get_skeleton(manifest.skeleton)
            continue
        matches = sorted(glob.glob(entry))
        if not matches:
            raise FileNotFoundError(f"records: {entry!r} matches no file")
        files.extend(matches)
    if not files:
        raise FileNotFoundError(f"records: no record files in {records!r}")
    return files, skeleton


def remap_joints(example: dict, *, source: Skeleton, target: Skeleton) -> dict:
    """Re-indexes joints from the record's skeleton to the model's, by joint name.

    Reads and writes ``keypoints`` [K, 2] and ``visibility`` [K]; joints ``target`` has and
    ``source`` lacks get visibility 0 (a missing joint: zero weight over its channels).
    """
    pairs = {t: s for s, t in joint_correspondence(source, target)}
    index = [pairs.get(t, 0) for t in range(target.num_keypoints)]
    known = tf.constant([t in pairs for t in range(target.num_keypoints)])
    out = dict(example)
    out["keypoints"] = tf.where(known[:, None], tf.gather(example["keypoints"], index), 0.0)
    out["visibility"] = tf.where(known, tf.gather(example["visibility"], index), 0)
    return out


# ------------------------------------------------------------------------------------------
# The per-example function.


def make_example_fn(
    skeleton: Skeleton,
    config: PipelineConfig,
    *,
    training: bool,
    record_skeleton: Skeleton | None = None,
):
    """The map function ``(serialized record, seed int64 [2]) → example`` of one example.

    It parses, decodes, crops (augmented when ``training``, else the deterministic crop; the
    seed is then ignored), maps the keypoints and normalises the image. Targets are added per
    batch by :func:`make_targets_fn`.
    """
    record_skeleton = record_skeleton or skeleton
    parsed_fn = make_parsed_example_fn(
        skeleton, config, training=training, record_skeleton=record_skeleton
    )

    def example_fn(serialized: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        return parsed_fn(parse_example(serialized, record_skeleton.num_keypoints), seed)

    return example_fn


def make_parsed_example_fn(
    skeleton: Skeleton,
    config: PipelineConfig,
    *,
    training: bool,
    record_skeleton: Skeleton | None = None,
):
    """:func:`make_example_fn` after parsing: ``(parsed record, seed int64 [2]) → example``.

    :func:`build_dataset` parses records in batches (one op per batch instead of one per
    record) and then maps this function over the single records.
    """
    record_skeleton = record_skeleton or skeleton
    crop = config.crop
    size = config.input_size
    aug = config.augmentation

    def parsed_example_fn(example: dict[str, tf.Tensor], seed: tf.Tensor) -> dict[str, tf.Tensor]:
        if record_skeleton.name != skeleton.name:
            example = remap_joints(example, source=record_skeleton, target=skeleton)
        example = transforms.decode_image(example)
        seeds = tf.random.experimental.stateless_split(seed, num=2)
        if training:
            example = transforms.random_crop_affine(
                example, seed=seeds[0], input_size=size, crop=crop, augmentation=aug
            )
        else:
            example = transforms.center_crop_affine(example, input_size=size, crop=crop)
        example = transforms.warp_crop(example, input_size=size, fill=crop.fill, method="fast")
        example = transforms.transform_keypoints(
            example, flip_permutation=skeleton.flip_permutation, input_size=size
        )
        if training:
            example = transforms.color_jitter(
                example, seed=seeds[1], color_scale=aug.color_scale, brightness=aug.brightness
            )
        example = transforms.normalize_image(example, mode=config.normalization)
        return {key: example[key] for key in _GEOMETRY_KEYS + _PASSTHROUGH_KEYS}

    return parsed_example_fn


def make_targets_fn(skeleton: Skeleton, config: PipelineConfig):
    """The map function ``example → example`` that adds ``heatmaps/*`` and ``weights/*``.

    Works on one example or a batch; the pipeline applies it to batches, which is cheaper than
    drawing per example and then copying the maps into the batch.
    """
    heatmap_size = (config.heatmap_size, config.heatmap_size)

    def targets_fn(example: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return targets_lib.encode_targets(
            example,
            targets=config.targets,
            skeleton=skeleton,
            heatmap_size=heatmap_size,
            stride=config.heatmap_stride,
            occlusion_mode=config.occlusion_mode,
        )

    return targets_fn


def build_dataset(
    file_patterns_or_paths: str | Sequence[str],
    skeleton: Skeleton,
    config: PipelineConfig,
    *,
    training: bool,
    batch_size: int,
    seed: int | None = None,
    deterministic: bool = False,
    shuffle_buffer: int = 1024,
    repeat: bool | None = None,
    drop_remainder: bool | None = None,
    record_skeleton: Skeleton | None = None,
    num_parallel_calls: int = tf.data.AUTOTUNE,
    threads: int | None = None,
) -> tf.data.Dataset:
    """Batches of cropped, augmented images with their target maps.

    Records → (shard interleave, shuffle, repeat when training) → parse → decode →
    crop/augment → targets → batch → prefetch. Each example's random draws use the stateless
    seed ``(seed, example index)``, so a fixed ``seed`` with ``deterministic=True`` reproduces
    every batch exactly. Evaluation (``training=False``) uses the deterministic crop and no
    augmentation, keeps record order and does not shuffle.

    Args:
      file_patterns_or_paths: TFRecord paths or glob patterns (a list, or one string with
        comma-separated entries). Manifest directories are accepted too (their ``train`` split;
        use :func:`resolve_records` or ``Manifest.files`` for another split).
      skeleton: the model's skeleton (its joint order defines the channels).
      config: see :class:`PipelineConfig`.
      training: random augmentation, shuffling, repetition.
      batch_size: examples per batch.
      seed: base seed of shuffling and augmentation; None draws one at random.
      deterministic: keep element order fixed across parallel calls (tests, evaluation).
      shuffle_buffer: records in the shuffle buffer (training only).
      repeat: repeat forever; defaults to ``training``.
      drop_remainder: drop a final partial batch; defaults to ``training``.
      record_skeleton: the records' skeleton when it differs from ``skeleton``; joints it lacks
        become missing joints (zero weight).
      num_parallel_calls: parallelism of the map (AUTOTUNE by default).
      threads: size of a private thread pool for this pipeline (None: the shared pool).

    Returns:
      A ``tf.data.Dataset`` of dicts (B is ``batch_size``; ``None`` in the static shape when
      the last batch may be partial):

      ===========================  ========  ===============  ===================================
      key                          dtype     shape            meaning
      ===========================  ========  ===============  ===================================
      ``image``                    float32   [B, S, S, 3]     normalised crop (config.normalization)
      ``keypoints``                float32   [B, K, 2]        (x, y) in crop pixels
      ``visibility``               int32     [B, K]           0 missing, 1 occluded, 2 visible
      ``in_crop``                  bool      [B, K]           keypoint inside the crop
      ``image_keypoints``          float32   [B, K, 2]        the same joints in image pixels
      ``affine``                   float32   [B, 2, 3]        image → crop matrix
      ``center``                   float32   [B, 2]           record's person centre (image px)
      ``scale``                    float32   [B]              record's person height / 200 px
      ``head_box``                 float32   [B, 4]           (x1, y1, x2, y2) image pixels
      ``has_head_box``             bool      [B]
      ``image_id``                 string    [B]
      ``image_size``               int32     [B, 2]           (height, width) of the image
      ``occlusion_labelled``       bool      [B]
      ``coco_id``                  int64     [B]              COCO image id, -1 when not kept
      ``area``                     float32   [B]              COCO annotation area, 0 when not kept
      ``heatmaps/<name>``          float32   [B, H, W, C]     targets of each configured head
      ``weights/<name>``           float32   [B, H, W, C]     per-pixel weights in [0, 1]
      ===========================  ========  ===============  ===================================

      ``<name>`` is each ``config.targets[i].name`` (``keypoints``: C = K; ``limbs``: C = L;
      ``detection``: C = K). After a flip the joint order is already swapped, so channel k is
      always joint k of ``skeleton``; ``crop_to_image(keypoints, affine) == image_keypoints``.
    """
    files, manifest_skeleton = resolve_records(file_patterns_or_paths)
    if record_skeleton is not None and manifest_skeleton is not None:
        if record_skeleton.name != manifest_skeleton.name:
            raise ValueError(
                f"record_skeleton {record_skeleton.name!r} contradicts the manifest's "
                f"{manifest_skeleton.name!r}"
            )
    if manifest_skeleton is not None and record_skeleton is None:
        record_skeleton = manifest_skeleton
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    repeat = training if repeat is None else repeat
    drop_remainder = training if drop_remainder is None else drop_remainder
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)

    dataset = tf.data.Dataset.from_tensor_slices(files)
    if training and len(files) > 1:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if len(files) > 1:
        dataset = dataset.interleave(
            tf.data.TFRecordDataset,
            cycle_length=min(len(files), 8),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=deterministic,
        )
    else:
        dataset = tf.data.TFRecordDataset(files)
    if training:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    record_skeleton = record_skeleton or skeleton
    # Records are parsed (and checked) a batch at a time: one op per batch instead of one per
    # record. Unbatching keeps their order, so each keeps its index and with it its seed.
    dataset = dataset.batch(_PARSE_BATCH)
    dataset = dataset.map(
        lambda serialized: parse_example(serialized, record_skeleton.num_keypoints),
        num_parallel_calls=num_parallel_calls,
        deterministic=deterministic,
    )
    dataset = dataset.unbatch().enumerate()
    example_fn = make_parsed_example_fn(
        skeleton, config, training=training, record_skeleton=record_skeleton
    )
    base_seed = tf.constant(seed, tf.int64)

    def map_fn(index, parsed):
        return example_fn(parsed, tf.stack([base_seed, index]))

    dataset = dataset.map(
        map_fn, num_parallel_calls=num_parallel_calls, deterministic=deterministic
    )
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(
        make_targets_fn(skeleton, config),
        num_parallel_calls=num_parallel_calls,
        deterministic=deterministic,
    )
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = deterministic
    # Parallelism comes from the map threads; letting each kernel also shard its work over the
    # intra-op pool oversubscribes the cores (measured: 15-25 % fewer examples/s on 2 cores).
    options.threading.max_intra_op_parallelism = 1
    if threads is not None:
        options.threading.private_threadpool_size = threads
    return dataset.with_options(options)
