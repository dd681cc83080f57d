#!/usr/bin/env bash
# CPU training of the shipped multi-task networks with a named recipe (agegender train --list-recipes
# shows each one's values). Resumable: run it again after any interruption.
#   usage: [RECIPE=short|long|xl|ft|ft-child|mix|mix-distil] scripts/train_release_cpu.sh CACHE[,CACHE] RUNS [resnet50|vgg16 ...]
#   RECIPE names multitask-dldl-64-cpu-$RECIPE (default long). The shipped weights came from long (VGG16)
#   and xl with TIME_BUDGET_S=5700 (ResNet50), then ft, ft-child (ResNet50), and mix on both datasets
#   (CACHE=cache/utk64,cache/aaf64); then, for VGG16, 8 more mix epochs: N_EPOCHS=8 PEAK_LR=5e-4 INIT_DIR=...;
#   then, for ResNet50, mix-distil (the shipped VGG16 as teacher).
#   Overrides: PEAK_LR (--lr), N_EPOCHS (--epochs), INIT_DIR (--init-weights INIT_DIR/ARCH.safetensors instead of
#   the shipped weights), AUGMENT_PHOTO (--augment-photo), TIME_BUDGET_S (--time-budget-s).
set -euo pipefail
CACHE=${1:?face cache folder(s), comma-separated}
RUNS=${2:?runs folder}
shift 2
AG=${AGEGENDER:-agegender}
RECIPE=multitask-dldl-64-cpu-${RECIPE:-long}
for arch in ${@:-resnet50 vgg16}; do
  "$AG" train --recipe "$RECIPE" --arch "$arch" --cache "$CACHE" --out "$RUNS/$arch-both" --resume --no-progress \
    ${PEAK_LR:+--lr "$PEAK_LR"} ${N_EPOCHS:+--epochs "$N_EPOCHS"} ${AUGMENT_PHOTO:+--augment-photo "$AUGMENT_PHOTO"} \
    ${INIT_DIR:+--init-weights "$INIT_DIR/$arch.safetensors"} ${TIME_BUDGET_S:+--time-budget-s "$TIME_BUDGET_S"}
done
