#!/usr/bin/env bash
# CPU training of the shipped multi-task networks (one backbone, age + gender heads):
# all ages, 64x64, age as a label distribution (DLDL: one bin per year, gives an uncertainty),
# gender by cross-entropy, Adam + cosine schedule. Resumable like every run.
#   usage: [RECIPE=short|long|xl|ft|ft-child] scripts/train_release_cpu.sh CACHE_DIR RUNS_DIR [resnet50|vgg16 ...]
#   short (the first shipped weights): ResNet50 5 epochs, VGG16 3, no EMA       (~15 + 17 min on 2 cores)
#   long: ResNet50 14 epochs, VGG16 16, EMA of weights 0.999                     (~35 + 90 min on 2 cores)
#   xl:   ResNet50 30 epochs, VGG16 30, EMA 0.999                               (~85 + 170 min on 2 cores)
#   ft:   fine-tunes the shipped weights (or INIT_DIR/ARCH.safetensors): ResNet50 8 epochs, VGG16 5,
#         lr 2e-4, EMA 0.999, half the faces framed on other backgrounds       (~25 + 30 min on 2 cores)
#   ft-child: as ft, with the gender loss of children (0-12) weighted 3x               (~25 + 30 min on 2 cores)
#   TIME_BUDGET_S=N ends each run within about N seconds (fewer epochs; the cosine schedule follows).
set -euo pipefail
CACHE=${1:?face cache folder}
RUNS=${2:?runs folder}
shift 2
AG=${AGEGENDER:-agegender}
RECIPE=${RECIPE:-long}
LR=1e-3; BACKGROUND=0; CHILD_WEIGHT=1; INIT_DIR=${INIT_DIR:-src/agegender/weights}
case $RECIPE in
  short) declare -A EPOCHS=([resnet50]=5 [vgg16]=3); EMA=0 ;;
  long) declare -A EPOCHS=([resnet50]=14 [vgg16]=16); EMA=0.999 ;;
  xl) declare -A EPOCHS=([resnet50]=30 [vgg16]=30); EMA=0.999 ;;
  ft|ft-child) declare -A EPOCHS=([resnet50]=8 [vgg16]=5); EMA=0.999; LR=2e-4; BACKGROUND=0.5
    if [ "$RECIPE" = ft-child ]; then CHILD_WEIGHT=3; fi ;;
  *) echo "RECIPE must be short, long, xl, ft or ft-child" >&2; exit 2 ;;
esac
for arch in ${@:-resnet50 vgg16}; do
  INIT=()
  [[ "$RECIPE" = ft* ]] && INIT=(--init-weights "$INIT_DIR/$arch.safetensors")
  "$AG" train --cache "$CACHE" --all-ages --task both --age-head distribution --age-loss dldl --gender-loss ce \
    --lr "$LR" --batch-size 64 --schedule cosine --augment 1.0 --augment-background "$BACKGROUND" --gender-child-weight "$CHILD_WEIGHT" --ema "$EMA" --recipe "multitask-dldl-64-cpu-$RECIPE" \
    --resume --no-progress --arch "$arch" --epochs "${EPOCHS[$arch]}" --time-budget-s "${TIME_BUDGET_S:-0}" --out "$RUNS/$arch-both" "${INIT[@]}"
done
