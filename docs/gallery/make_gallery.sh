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
# and COCO samples are out of LSPET's domain and shown as they come out, twice: whole (many have
# several people or a person small in the frame, which this single-person model is not made
# for) and with one person box per annotated person (--boxes, --box_mode=person; the boxes come
# from the samples' annotations, where a user would use a person detector's boxes). Overlays
# show the predictions, never the ground-truth joints.
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

# Person boxes from the samples' annotations: MPII, the joints' extent; COCO, the person boxes of
# people with at least 10 labelled keypoints.
python - "$DATA/samples" "$WORK/boxes.json" <<'PY'
import json, sys
samples, out = sys.argv[1:]
boxes = {}
for person in json.load(open(f"{samples}/mpii/test_mpii.json")):
    xy = [p for p, v in zip(person["joints"], person["joints_vis"]) if v and p[0] > 0]
    xs, ys = [p[0] for p in xy], [p[1] for p in xy]
    boxes.setdefault(person["image"], []).append([min(xs), min(ys), max(xs), max(ys)])
coco = json.load(open(f"{samples}/coco/test_coco.json"))
names = {image["id"]: image["file_name"] for image in coco["images"]}
for a in coco["annotations"]:
    if a["num_keypoints"] >= 10:
        x, y, w, h = a["bbox"]
        boxes.setdefault(names[a["image_id"]], []).append([x, y, x + w, y + h])
json.dump(boxes, open(out, "w"))
PY
python -m tfpose.predict --model="$MODEL" --input="$WORK/samples" --boxes="$WORK/boxes.json" \
  --box_mode=person --flip_test --overlay_max_side=360 --output_dir="$WORK/out_boxes"

rm -f docs/gallery/real_*.jpg
for f in "$WORK"/out_lspet/overlays/*.jpg; do cp "$f" "docs/gallery/real_lspet_$(basename "$f")"; done
for f in "$WORK"/out_samples/overlays/*.jpg; do cp "$f" "docs/gallery/real_sample_$(basename "$f")"; done
for f in "$WORK"/out_boxes/overlays/*.jpg; do cp "$f" "docs/gallery/real_boxes_$(basename "$f")"; done
echo "model: $MODEL; python -m tfpose.predict --flip_test, --refine=1 on whole photos (real_lspet_*, real_sample_*), --boxes --box_mode=person (real_boxes_*)" \
  > docs/gallery/MODEL.txt
du -ch docs/gallery/real_*.jpg | tail -1
