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

# Aligned fakes: real photos reconstructed through our own generators at native resolution, so that a real
# photo and its fake differ only in generation traces (detectors/generators/aligned.py).
S=../shared/datasets
ALIGNED=${ALIGNED:-var/lab/aligned}
$PY -m detectors.generators aligned decoder --real-dir "$REAL" --n 500 --out-dir "$ALIGNED/decoder-celeba" --threads 1
$PY -m detectors.generators aligned decoder --real-dir "$S/bsds500/train" --n 200 --out-dir "$ALIGNED/decoder-bsds" --threads 1
$PY -m detectors.generators aligned diffusion --real-dir "$REAL" --n 400 --out-dir "$ALIGNED/diffusion-celeba" --threads 1
$PY -m detectors.generators aligned diffusion --real-dir "$S/bsds500/train" --n 200 --out-dir "$ALIGNED/diffusion-bsds" --threads 1
$PY -m detectors.generators aligned faceswap --real-dir "$REAL" --n 500 --out-dir "$ALIGNED/faceswap-celeba" --threads 1

# Training reals: CelebA (split by identity) and BSDS500 train. The threshold is set on UTKFace, a real source
# the model never trains on; BSDS500 test is used only to measure false positives.
ID=",identity=$IDS"
DATA=(--real "celeba=$REAL$ID,limit=4000" --real "bsds=$S/bsds500/train"
  --calib-real "utkface=$S/utkface-aligned/images,limit=1500" --test-real "bsds-test=$S/bsds500/test"
  --fake "gan=$LAB/gan" --fake "diffusion=$LAB/diffusion" --fake "diffusion=$ALIGNED/diffusion-celeba$ID"
  --fake "diffusion=$ALIGNED/diffusion-bsds,domain=bsds" --fake "decoder=$ALIGNED/decoder-celeba$ID"
  --fake "decoder=$ALIGNED/decoder-bsds,domain=bsds" --fake "faceswap=$LAB/faceswap" --fake "faceswap=$ALIGNED/faceswap-celeba$ID"
  --sbi celeba)
STEPS=${STEPS:-2500}
# Leave-one-family-out: the headline figure (reports only, no weights kept).
for family in gan diffusion decoder faceswap; do
  $PY -m detectors.training --name "lofo-$family" "${DATA[@]}" --exclude-family "$family" --no-weights \
    --steps "$STEPS" --degradations clean,jpeg75 --out detectors/weights/evaluation/lofo --device "$DEVICE"
done
$PY -m detectors.training --name synthetic-image "${DATA[@]}" --steps "$STEPS" --out detectors/weights --device "$DEVICE"
$PY -m detectors.training --name face-synthetic --crop faces "${DATA[@]}" --steps "$STEPS" --out detectors/weights \
  --device "$DEVICE"

UTK=${UTK:-../shared/datasets/utkface-aligned/images}
$PY -m detectors.evaluation --model synthetic-image --utkface "$UTK" --limit 2000 --out detectors/weights/evaluation/synthetic-image
$PY -m detectors.evaluation --model face-synthetic --utkface "$UTK" --limit 1000 --out detectors/weights/evaluation/face-synthetic

# LLM-text detectors, from ../shared/datasets/human-vs-llm-text (CPU is fine).
$PY -m detectors.text train-supervised --out detectors/weights --seed 0
$PY -m detectors.text train-lm
$PY -m detectors.text calibrate-binoculars
