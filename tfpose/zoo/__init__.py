"""Pretrained models shipped with tfpose: predict on real photos without training.

Each entry is a folder ``tfpose/zoo/<name>/`` holding ``model.keras`` (the trained model with
float16 weights, to keep the package small; it is run in float32) and the ``flags.json`` its
training run wrote (entries added by :func:`add_entry` also hold it inside ``model.keras``);
``manifest.json`` lists the entries with their sha256, input size, skeleton, the command that
trained them, their measured score and the predictor settings they were scored with. Every
tool takes a name where it takes a model path::

    python -m tfpose.zoo                                   # what ships
    python -m tfpose.predict --model=lspet_mobilenet_v2 --input=photo.jpg --output_dir=out
    python -m tfpose.evaluate --model=lspet_mobilenet_v2 --records=data/lspet --split=test

    from tfpose.inference import Predictor
    predictor = Predictor.from_preset("lspet_mobilenet_v2")

``python -m tfpose.zoo --add=NAME --model=runs/.../best.keras ...`` writes a new entry
(see :func:`add_entry`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil

from tfpose.models.backbones import file_sha256

ZOO_DIR = pathlib.Path(__file__).resolve().parent
MANIFEST = ZOO_DIR / "manifest.json"
MODEL_FILE = "model.keras"
FLAGS_FILE = "flags.json"
MAX_BYTES = 10 * 1024 * 1024  # the repository's limit for a shipped model


@dataclasses.dataclass(frozen=True)
class ZooEntry:
    """One shipped model (a ``manifest.json`` entry).

    Attributes:
      name: what ``--model=`` and ``Predictor.from_preset`` take.
      model: the model preset it was trained as (``tfpose.models.MODELS``).
      sha256: of ``model.keras``.
      input_size: the network's input side in pixels.
      skeleton: joint layout of its keypoints.
      flip_test, refine: the predictor settings the score below was measured with, and the
        defaults of ``Predictor.from_preset``.
      command: the command that trained it.
      score: what it scored, e.g. ``{"lspet_test_pck02_whole_image": 76.1, ...}``.
      description: one line for listings.
    """

    name: str
    model: str
    sha256: str
    input_size: int
    skeleton: str
    flip_test: bool
    refine: int
    command: str
    score: dict[str, float]
    description: str

    @property
    def path(self) -> pathlib.Path:
        return ZOO_DIR / self.name / MODEL_FILE


def entries() -> dict[str, ZooEntry]:
    """The shipped models, by name (empty when none ships)."""
    if not MANIFEST.is_file():
        return {}
    with open(MANIFEST) as f:
        data = json.load(f)
    fields = {field.name for field in dataclasses.fields(ZooEntry)}
    return {
        item["name"]: ZooEntry(**{k: v for k, v in item.items() if k in fields})
        for item in data["models"]
    }


def get(name: str) -> ZooEntry:
    """The entry ``name``; its file is checked against the manifest's sha256.

    Raises:
      KeyError: no such entry (the message lists what ships).
      ValueError: the file is damaged (hash mismatch).
    """
    known = entries()
    if name not in known:
        listing = ", ".join(known) or "none"
        raise KeyError(f"no shipped model named {name!r} (shipped: {listing})")
    entry = known[name]
    digest = file_sha256(entry.path)
    if digest != entry.sha256:
        raise ValueError(
            f"{entry.path}: sha256 {digest} differs from the manifest's {entry.sha256}; the "
            "file is damaged — reinstall tfpose"
        )
    return entry


def resolve_model(model: str) -> str:
    """``model`` itself when it is a path that exists, else the file of the shipped model of
    that name, else ``model`` unchanged (the caller reports it missing)."""
    if os.path.exists(model) or model not in entries():
        return model
    return str(get(model).path)


def describe() -> str:
    """A table of the shipped models for the console."""
    known = entries()
    if not known:
        return "no pretrained models ship with this installation"
    lines = []
    for entry in known.values():
        scores = ", ".join(f"{k} {v:.1f}" for k, v in entry.score.items())
        size = entry.path.stat().st_size / 1e6 if entry.path.exists() else float("nan")
        lines.append(
            f"{entry.name}: {entry.description}\n"
            f"  model {entry.model}, {entry.input_size} px, skeleton {entry.skeleton}, "
            f"{size:.1f} MB; predictor flip_test={entry.flip_test} refine={entry.refine}\n"
            f"  {scores}\n  trained with: {entry.command}"
        )
    return "\n".join(lines)


def add_entry(
    name: str,
    model_path: str,
    *,
    command: str,
    score: dict[str, float],
    description: str,
    flip_test: bool,
    refine: int,
) -> ZooEntry:
    """Stores a trained ``.keras`` model as shipped model ``name`` (float16 weights).

    The weights are stored in float16, which halves the file; the model is run in float32
    (:class:`tfpose.inference.backends.KerasBackend` converts it when loading).

    Raises:
      ValueError: the stored file would exceed :data:`MAX_BYTES`.
    """
    import keras

    import tfpose.models  # noqa: F401  (registers the model classes)
    from tfpose import run_config

    _, flags = run_config.load_saved_run(model_path)  # the model's record, or its flags.json
    flags = dict(flags)
    # Absolute paths of the training machine mean nothing where the package is installed;
    # relative ones (data/lspet) are where the README's commands put the data.
    for key in ("workdir", "records"):
        if key in flags and os.path.isabs(str(flags[key])):
            flags[key] = os.path.basename(str(flags[key]).rstrip("/"))
    trained = keras.models.load_model(model_path)
    half = type(trained).from_config({**trained.get_config(), "dtype": "float16"})
    half.set_weights([w.astype("float16") for w in trained.get_weights()])
    folder = ZOO_DIR / name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / MODEL_FILE
    half.save(target)
    run_config.write_run_record(str(target), flags)
    if target.stat().st_size > MAX_BYTES:
        size = target.stat().st_size / 1e6
        target.unlink()
        raise ValueError(f"{name}: {size:.1f} MB exceeds the {MAX_BYTES / 1e6:.0f} MB limit")
    with open(folder / FLAGS_FILE, "w") as f:
        json.dump(flags, f, indent=2)
    entry = ZooEntry(
        name=name,
        model=flags["model"],
        sha256=file_sha256(target),
        input_size=int(flags["input_size"]),
        skeleton=str(flags["skeleton"]),
        flip_test=flip_test,
        refine=refine,
        command=command,
        score=score,
        description=description,
    )
    current = entries()
    current[name] = entry
    _write_manifest(current)
    return entry


def set_score(name: str, score: dict[str, float]) -> ZooEntry:
    """Records the measured ``score`` of entry ``name`` in the manifest."""
    current = entries()
    current[name] = dataclasses.replace(current[name], score=dict(score))
    _write_manifest(current)
    return current[name]


def remove_entry(name: str) -> None:
    current = {k: v for k, v in entries().items() if k != name}
    shutil.rmtree(ZOO_DIR / name, ignore_errors=True)
    _write_manifest(current)


def _write_manifest(current: dict[str, ZooEntry]) -> None:
    with open(MANIFEST, "w") as f:
        json.dump({"models": [dataclasses.asdict(e) for e in current.values()]}, f, indent=2)
        f.write("\n")
