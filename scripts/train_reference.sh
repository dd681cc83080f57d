#!/usr/bin/env bash
# Retrain the reference write-up's four models (VGG16 / ResNet50 x age / gender) with its
# recipe: 64x64 faces, ages 18-50, Adam, mean squared error for both tasks.
# Resumable: run it again after any interruption and each model continues from its last epoch.
#   usage: scripts/train_reference.sh CACHE_DIR RUNS_DIR [MODEL...]
#   MODEL: resnet50-age vgg16-age resnet50-gender vgg16-gender (default: all four)
set -euo pipefail
CACHE=${1:?face cache folder (agegender data cache ... --size 64)}
RUNS=${2:?folder for the four runs}
shift 2
AG=${AGEGENDER:-agegender}
declare -A EPOCHS=([resnet50-age]=14 [vgg16-age]=8 [resnet50-gender]=5 [vgg16-gender]=4)
for run in "${@:-resnet50-age vgg16-age resnet50-gender vgg16-gender}"; do
  for name in $run; do
    "$AG" train --cache "$CACHE" --min-age 18 --max-age 50 --age-loss mse --gender-loss mse --lr 1e-3 \
      --batch-size 64 --schedule cosine --augment 1.0 --recipe reference-mse-64 --resume --no-progress \
      --arch "${name%-*}" --task "${name#*-}" --epochs "${EPOCHS[$name]}" --out "$RUNS/$name"
  done
done
