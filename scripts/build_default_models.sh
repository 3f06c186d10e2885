#!/usr/bin/env bash
# Reproduces every shipped model from scratch: the three generators, their fakes,
# the two detectors, and the evaluation reports in detectors/weights/evaluation/.
# About an hour on a 2-core CPU; pass DEVICE=cuda to use a GPU (same code).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DEVICE=${DEVICE:-cpu}
REAL=${REAL:-../shared/datasets/celeba-10k/images}
IDS=${IDS:-../shared/datasets/celeba-10k/identity.txt}
GEN=detectors/weights/generators
LAB=${LAB:-var/lab/fakes}

$PY -m detectors.generators train gan --real-dir "$REAL" --out-dir "$GEN/gan" --device "$DEVICE"
$PY -m detectors.generators train diffusion --real-dir "$REAL" --out-dir "$GEN/diffusion" --device "$DEVICE"
$PY -m detectors.generators train faceswap --real-dir "$REAL" --out-dir "$GEN/faceswap" --device "$DEVICE"

$PY -m detectors.generators sample gan --checkpoint "$GEN/gan/gan.safetensors" --n 3000 --seed 1 --out-dir "$LAB/gan"
$PY -m detectors.generators sample diffusion --checkpoint "$GEN/diffusion/diffusion.safetensors" --n 2000 --seed 1 \
  --sampler ddim --sample-steps 25 --dynamic-threshold 0 --out-dir "$LAB/diffusion"
$PY -m detectors.generators sample faceswap --checkpoint "$GEN/faceswap/faceswap.safetensors" --n 1500 --seed 1 \
  --out-dir "$LAB/faceswap"

FAKES=(--fake gan="$LAB/gan" --fake diffusion="$LAB/diffusion" --fake faceswap="$LAB/faceswap")
$PY -m detectors.training --name synthetic-image --real "$REAL" --identity-file "$IDS" "${FAKES[@]}" \
  --out detectors/weights --device "$DEVICE"
$PY -m detectors.training --name face-synthetic --crop faces --real "$REAL" --identity-file "$IDS" "${FAKES[@]}" \
  --out detectors/weights --device "$DEVICE"

UTK=${UTK:-../shared/datasets/utkface-aligned/images}
$PY -m detectors.evaluation --model synthetic-image --utkface "$UTK" --limit 2000 --out detectors/weights/evaluation/synthetic-image
$PY -m detectors.evaluation --model face-synthetic --utkface "$UTK" --limit 1000 --out detectors/weights/evaluation/face-synthetic
$PY -m detectors.evaluation --model synthetic-image --real "$REAL" --identity-file "$IDS" --lab "$LAB" --logo \
  --limit 400 --logo-epochs 2 --out detectors/weights/evaluation/logo
rm -rf detectors/weights/evaluation/logo/logo  # the leave-one-out models themselves are not kept

# LLM-text detectors, from ../shared/datasets/human-vs-llm-text (CPU is fine).
$PY -m detectors.text train-supervised --out detectors/weights --seed 0
$PY -m detectors.text train-lm
$PY -m detectors.text calibrate-binoculars
