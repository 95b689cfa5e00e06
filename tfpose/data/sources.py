"""Where each real dataset is downloaded, and the command that converts it (for error messages).

docs/training.md ("Datasets") says the same at more length.
"""

from __future__ import annotations

# Tompson et al.'s MPII validation split (2,958 persons), as most papers validate on it.
MPII_VALIDATION = (
    "detections_our_format.mat from https://github.com/bearpaw/pytorch-pose (evaluation/data/)"
)
# Official download pages and files of each dataset.
DOWNLOADS = {
    "mpii": (
        "MPII Human Pose from http://human-pose.mpi-inf.mpg.de/#download: images "
        "https://datasets.d2.mpi-inf.mpg.de/andriluka14cvpr/mpii_human_pose_v1.tar.gz, "
        "annotations https://datasets.d2.mpi-inf.mpg.de/andriluka14cvpr/"
        f"mpii_human_pose_v1_u12_2.zip (mpii_human_pose_v1_u12_1.mat); the validation split "
        f"{MPII_VALIDATION}"
    ),
    "lsp": (
        "Leeds Sports Pose from http://sam.johnson.io/research/lsp.html "
        "(http://sam.johnson.io/research/lsp_dataset.zip: images/ and joints.mat)"
    ),
    "lspet": (
        "LSP Extended from http://sam.johnson.io/research/lspet.html "
        "(http://sam.johnson.io/research/lspet_dataset.zip: images/ and joints.mat)"
    ),
    "coco": (
        "COCO keypoints from https://cocodataset.org/#download: annotations "
        "http://images.cocodataset.org/annotations/annotations_trainval2017.zip, images "
        "http://images.cocodataset.org/zips/train2017.zip and val2017.zip"
    ),
}

# Every flag each converter needs, after --dataset. DATA/<name> is the unpacked download: MPII
# images/ with the annotation .mat and detections_our_format.mat beside it; LSP and LSP Extended
# images/ and joints.mat; COCO annotations/person_keypoints_*.json with train2017/ and val2017/.
CONVERT_FLAGS = {
    "mpii": (
        "--data_dir=DATA/mpii --annotations=DATA/mpii/mpii_human_pose_v1_u12_1.mat "
        "--validation_file=DATA/mpii/detections_our_format.mat"
    ),
    "lsp": "--data_dir=DATA/lsp",
    "lspet": "--data_dir=DATA/lspet",
    "coco": "--data_dir=DATA/coco",
    "synthetic": "--num_examples=10000",
}


def convert_command(dataset: str, output_dir: str | None = None) -> str:
    """The ``python -m tfpose.data.convert`` command for ``dataset``, with every flag it needs."""
    flags = [f"--dataset={dataset}", CONVERT_FLAGS.get(dataset, "--data_dir=DATA")]
    flags.append(f"--output_dir={output_dir or 'data/' + dataset}")
    return "python -m tfpose.data.convert " + " ".join(flags)


def where_to_get(dataset: str) -> str:
    """One sentence: where ``dataset`` is downloaded and the command that converts it."""
    download = DOWNLOADS.get(dataset)
    command = convert_command(dataset)
    if download is None:
        return f"convert it with `{command}`"
    return f"download {download}; convert with `{command}` (docs/training.md, 'Datasets')"
