#!/usr/bin/env bash
# Regenerates the README gallery: predicted skeletons on the real MPII sample images.
#
#   bash docs/gallery/make_gallery.sh MODEL [SAMPLES_DIR]
#
# MODEL: a .keras file from python -m tfpose.train (flags.json beside it), a SavedModel
# directory or a .tflite file from python -m tfpose.export. SAMPLES_DIR defaults to
# ../shared/data/samples/mpii. Run from the repository root.
#
# Person regions follow the MPII single-person protocol: each image's annotated person centre
# and scale (test_mpii.json; no keypoints are used) give a square person box of side 200·scale,
# and --box_mode=person enlarges it by the model's crop convention exactly as training crops.
# The overlays show the model's predictions, never the ground truth.
set -euo pipefail
MODEL=${1:?usage: make_gallery.sh MODEL [SAMPLES_DIR]}
SAMPLES=${2:-../shared/data/samples/mpii}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

python - "$SAMPLES/test_mpii.json" "$WORK/boxes.json" <<'PY'
import json, sys
people = json.load(open(sys.argv[1]))
boxes = {}
for person in people:
    (cx, cy), half = person["center"], 100.0 * person["scale"]
    boxes.setdefault(person["image"], []).append([cx - half, cy - half, cx + half, cy + half])
json.dump(boxes, open(sys.argv[2], "w"), indent=1)
PY

python -m tfpose.predict --model="$MODEL" --input="$SAMPLES" --boxes="$WORK/boxes.json" \
  --box_mode=person --flip_test --heatmaps --overlay_max_side=480 --output_dir="$WORK/out"

rm -f docs/gallery/mpii_*.jpg docs/gallery/heatmaps_per_pass.jpg
for f in "$WORK"/out/overlays/*.jpg; do cp "$f" "docs/gallery/mpii_$(basename "$f")"; done
first=$(ls "$WORK"/out/heatmaps/*.jpg | head -1)
cp "$first" docs/gallery/heatmaps_per_pass.jpg
cp "$WORK/out/predictions.json" docs/gallery/predictions.json
echo "model: $MODEL" > docs/gallery/MODEL.txt
du -ch docs/gallery/* | tail -1
