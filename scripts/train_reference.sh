#!/usr/bin/env bash
# Retrain the reference write-up's four models (VGG16 / ResNet50 x age / gender) with its
# recipe: 64x64 faces, ages 18-50, Adam, mean squared error for both tasks.
# Resumable: run it again after any interruption and each model continues from its last epoch.
#   usage: scripts/train_reference.sh CACHE_DIR RUNS_DIR
set -euo pipefail
CACHE=${1:?face cache folder (agegender data cache ... --size 64)}
RUNS=${2:?folder for the four runs}
AG=${AGEGENDER:-agegender}
common=(--cache "$CACHE" --min-age 18 --max-age 50 --age-loss mse --gender-loss mse --lr 1e-3
        --batch-size 64 --schedule cosine --augment 1.0 --recipe reference-mse-64 --resume --no-progress)
"$AG" train "${common[@]}" --arch resnet50 --task age    --epochs 14 --out "$RUNS/resnet50-age"
"$AG" train "${common[@]}" --arch vgg16    --task age    --epochs 10 --out "$RUNS/vgg16-age"
"$AG" train "${common[@]}" --arch resnet50 --task gender --epochs 8  --out "$RUNS/resnet50-gender"
"$AG" train "${common[@]}" --arch vgg16    --task gender --epochs 6  --out "$RUNS/vgg16-gender"
