"""The deterministic backbone input of ``backbone_reference.npz``, shared by the script that
writes it (``make_backbone_reference.py``, run with PyTorch outside tfpose's environment) and the
test that reads it (``tests/models/test_backbones.py``): numpy only."""

import math

import numpy as np


def pattern(size: int) -> np.ndarray:
    """float32 [size, size, 3] in [0, 1]: smooth stripes and blobs."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    channels = [
        0.5 + 0.5 * np.sin(2 * math.pi * (3 * x + 2 * y * y) + c) * np.cos(5 * y - c)
        for c in (0.0, 1.0, 2.0)
    ]
    return np.stack(channels, -1).astype(np.float32)
