#!/usr/bin/env bash
# CPU training of the shipped multi-task networks (one backbone, age + gender heads):
# all ages, 64x64, age as a label distribution (DLDL: one bin per year, gives an uncertainty),
# gender by cross-entropy, Adam + cosine schedule. Resumable like every run.
#   usage: [RECIPE=short|long|xl|ft|ft-child|mix] scripts/train_release_cpu.sh CACHE_DIR[,CACHE_DIR] RUNS_DIR [resnet50|vgg16 ...]
#   short (the first shipped weights): ResNet50 5 epochs, VGG16 3, no EMA       (~15 + 17 min on 2 cores)
#   long: ResNet50 14 epochs, VGG16 16, EMA of weights 0.999                     (~35 + 90 min on 2 cores)
#   xl:   ResNet50 30 epochs, VGG16 30, EMA 0.999                               (~85 + 170 min on 2 cores)
#   ft:   fine-tunes the shipped weights (or INIT_DIR/ARCH.safetensors): ResNet50 8 epochs, VGG16 5,
#         lr 2e-4, EMA 0.999, half the faces framed on other backgrounds       (~25 + 30 min on 2 cores)
#   ft-child: as ft, with the gender loss of children (0-12) weighted 3x               (~25 + 30 min on 2 cores)
#   mix:  as ft-child on several datasets (CACHE_DIR=cache/utk64,cache/aaf64): half of each epoch from each,
#         crowded age x gender cells flattened (square root), 12,000 faces an epoch; lr 5e-4 for
#         ResNet50 (beat 2e-4 on val), 2e-4 for VGG16; ResNet50 8 epochs, VGG16 6      (~17 + 28 min on 2 cores)
#   AUGMENT_PHOTO=P gives each photo degradation (blur, low resolution, JPEG, greyscale, occlusion) to a
#         share P of faces (default 0: 0.15 did not beat 0 on val, reports/ABLATIONS.md);
#   PEAK_LR=X overrides the recipe's learning rate; N_EPOCHS=N its number of epochs (e.g. to continue the
#         shipped mix weights with INIT_DIR=src/agegender/weights for longer).
#   TIME_BUDGET_S=N ends each run within about N seconds (fewer epochs; the cosine schedule follows).
set -euo pipefail
CACHE=${1:?face cache folder}
RUNS=${2:?runs folder}
shift 2
AG=${AGEGENDER:-agegender}
RECIPE=${RECIPE:-long}
LR=1e-3; BACKGROUND=0; CHILD_WEIGHT=1; INIT_DIR=${INIT_DIR:-src/agegender/weights}
PHOTO=0; MIX=()
case $RECIPE in
  short) declare -A EPOCHS=([resnet50]=5 [vgg16]=3); EMA=0 ;;
  long) declare -A EPOCHS=([resnet50]=14 [vgg16]=16); EMA=0.999 ;;
  xl) declare -A EPOCHS=([resnet50]=30 [vgg16]=30); EMA=0.999 ;;
  ft|ft-child) declare -A EPOCHS=([resnet50]=8 [vgg16]=5); EMA=0.999; LR=2e-4; BACKGROUND=0.5
    if [ "$RECIPE" = ft-child ]; then CHILD_WEIGHT=3; fi ;;
  mix) declare -A EPOCHS=([resnet50]=8 [vgg16]=6) LRS=([resnet50]=5e-4 [vgg16]=2e-4); EMA=0.999; BACKGROUND=0.5; CHILD_WEIGHT=3
    MIX=(--dataset-shares utkface=0.5,aaf=0.5 --balance-cells 0.5 --epoch-size 12000) ;;
  *) echo "RECIPE must be short, long, xl, ft, ft-child or mix" >&2; exit 2 ;;
esac
PHOTO=${AUGMENT_PHOTO:-$PHOTO}
for arch in ${@:-resnet50 vgg16}; do
  [ "$RECIPE" = mix ] && LR=${LRS[$arch]}
  LR=${PEAK_LR:-$LR}
  INIT=()
  [[ "$RECIPE" = ft* || "$RECIPE" = mix ]] && INIT=(--init-weights "$INIT_DIR/$arch.safetensors")
  "$AG" train --cache "$CACHE" --all-ages --task both --age-head distribution --age-loss dldl --gender-loss ce \
    --lr "$LR" --batch-size 64 --schedule cosine --augment 1.0 --augment-background "$BACKGROUND" --augment-photo "$PHOTO" --gender-child-weight "$CHILD_WEIGHT" --ema "$EMA" --recipe "multitask-dldl-64-cpu-$RECIPE" \
    --resume --no-progress --arch "$arch" --epochs "${N_EPOCHS:-${EPOCHS[$arch]}}" --time-budget-s "${TIME_BUDGET_S:-0}" --out "$RUNS/$arch-both" "${INIT[@]}" "${MIX[@]}"
done
