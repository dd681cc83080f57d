#!/usr/bin/env bash
# Retrain the reference write-up's four models (VGG16 / ResNet50 x age / gender) with its recipe
# (reference-mse-64: 64x64 faces, ages 18-50, Adam, mean squared error for both tasks).
# Resumable: run it again after any interruption and each model continues from its last epoch.
#   usage: scripts/train_reference.sh CACHE_DIR RUNS_DIR [MODEL...]
#   MODEL: resnet50-age vgg16-age resnet50-gender vgg16-gender (default: all four)
set -euo pipefail
CACHE=${1:?face cache folder (agegender data cache ... --size 64)}
RUNS=${2:?folder for the four runs}
shift 2
AG=${AGEGENDER:-agegender}
for name in ${@:-resnet50-age vgg16-age resnet50-gender vgg16-gender}; do
  "$AG" train --recipe reference-mse-64 --arch "${name%-*}" --task "${name#*-}" --cache "$CACHE" \
    --out "$RUNS/$name" --resume --no-progress
done
