#!/usr/bin/env bash
# Regenerates the README gallery: a model's predictions on real photos, as a user gets them.
#
#   bash docs/gallery/make_gallery.sh [MODEL] [DATA_DIR]
#
# MODEL: a shipped model's name (default: recurrent_mobilenet_v2_lspet), a .keras file, a
# SavedModel directory or a .tflite file. DATA_DIR defaults to ../shared/data. Run from the
# repository root.
#
# Every photo is given whole, with no person box: the predictor finds the person (one pass on
# the whole photo, then one on the joints it found; --refine=1) and uses the flip test. The
# LSPET images are fixed test images (9501, 9650, 9800, 9900), not chosen by result; the MPII
# and COCO samples are out of LSPET's domain and shown as they come out. Overlays show the
# predictions, never the ground truth.
set -euo pipefail
MODEL=${1:-recurrent_mobilenet_v2_lspet}
DATA=${2:-../shared/data}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/lspet" "$WORK/samples"
for n in 09501 09650 09800 09900; do cp "$DATA/lspet/images/im$n.jpg" "$WORK/lspet/"; done
cp "$DATA"/samples/mpii/*.jpg "$DATA"/samples/coco/*.jpg "$WORK/samples/"

for set in lspet samples; do
  python -m tfpose.predict --model="$MODEL" --input="$WORK/$set" --refine=1 --flip_test \
    --overlay_max_side=360 --output_dir="$WORK/out_$set"
done

rm -f docs/gallery/real_*.jpg
for f in "$WORK"/out_lspet/overlays/*.jpg; do cp "$f" "docs/gallery/real_lspet_$(basename "$f")"; done
for f in "$WORK"/out_samples/overlays/*.jpg; do cp "$f" "docs/gallery/real_sample_$(basename "$f")"; done
echo "model: $MODEL; python -m tfpose.predict --refine=1 --flip_test on whole photos" \
  > docs/gallery/MODEL.txt
du -ch docs/gallery/real_*.jpg | tail -1
