"""tfpose: single-person 2D human pose estimation in TensorFlow 2 / Keras 3.

Reimplements Bulat & Tzimiropoulos (ECCV 2016, part heatmap regression) and Belagiannis &
Zisserman (FG 2017, recurrent human pose estimation), with export to SavedModel and TFLite.
"""

from setuptools import find_packages, setup

setup(
    name="tfpose",
    version="0.1.0",
    description="Human pose estimation (part heatmap regression, recurrent pose) for TF2/Keras 3",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["tfpose", "tfpose.*"]),
    # The shipped pretrained models (tfpose/zoo/<name>/model.keras + flags.json, manifest).
    package_data={"tfpose.zoo": ["manifest.json", "*/model.keras", "*/flags.json"]},
    install_requires=[
        # TensorFlow 2.21 line; tf.keras is Keras 3 there. tensorflow-addons is deliberately
        # absent: it is end-of-life and does not import under Keras 3.
        "tensorflow>=2.21,<2.22",
        "keras>=3.15,<4",
        "numpy>=1.26,<3",
        # Headless OpenCV: tfpose only decodes, draws and writes images/video, never opens a
        # window, and the headless wheel needs no libGL/X11 on servers, CI and containers.
        "opencv-python-headless>=4.9,<6",
        "absl-py>=2.1,<3",
        "scipy>=1.11,<2",
        "h5py>=3.10,<4",
        "matplotlib>=3.8,<4",
        # Runs .tflite files (tf.lite.Interpreter is deprecated).
        "ai-edge-litert>=1.2,<3",
        # tf.summary needs it; TensorFlow 2.21 no longer installs it.
        "tensorboard>=2.20,<3",
        # Progress bars on stderr (tfpose/progress.py).
        "tqdm>=4.60,<5",
        # COCO's keypoint AP/AR (OKS) in `python -m tfpose.evaluate`: scored by the reference
        # implementation, pycocotools' COCOeval, not by a reimplementation of our own, so the
        # numbers are COCO's by construction (tfpose/evaluation/coco_keypoints.py). 2.0.11 is
        # the version tested (a binary wheel from PyPI, with NumPy 2 and TensorFlow 2.21).
        "pycocotools>=2.0.11,<3",
    ],
    extras_require={
        # The tests export to every format, ONNX included.
        "test": [
            "pytest>=8,<10",
            "hypothesis>=6.100,<7",
            "tf2onnx>=1.16,<2",
            "onnxruntime>=1.18,<2",
        ],
        "onnx": ["tf2onnx>=1.16,<2", "onnxruntime>=1.18,<2"],
    },
)
