#!/usr/bin/env bash
# Reproduces every shipped model from scratch: the three generators, their fakes,
# the two detectors, and the evaluation reports in detectors/weights/evaluation/.
# About 7 hours on a 2-core CPU (README: "scripts/build_default_models.sh rebuilds"); pass DEVICE=cuda to use a GPU (same code).
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

$PY -m detectors.generators sample gan --checkpoint "$GEN/gan/gan.safetensors" --n 800 --seed 1 --out-dir "$LAB/gan"
$PY -m detectors.generators sample diffusion --checkpoint "$GEN/diffusion/diffusion.safetensors" --n 500 --seed 1 \
  --sampler ddim --sample-steps 25 --dynamic-threshold 0 --out-dir "$LAB/diffusion"
$PY -m detectors.generators sample faceswap --checkpoint "$GEN/faceswap/faceswap.safetensors" --n 500 --seed 1 \
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
$PY -m detectors.generators aligned decoder --real-dir "$S/utkface-aligned/images" --n 300 --out-dir "$ALIGNED/decoder-utk" --threads 1
$PY -m detectors.generators aligned faceswap --real-dir "$S/utkface-aligned/images" --n 300 --out-dir "$ALIGNED/faceswap-utk" --threads 1
$PY -m detectors.generators aligned denoiser --real-dir "$REAL" --n 400 --out-dir "$ALIGNED/denoiser-celeba" --threads 1
$PY -m detectors.generators aligned denoiser --real-dir "$S/bsds500/train" --n 200 --out-dir "$ALIGNED/denoiser-bsds" --threads 1
$PY -m detectors.generators aligned denoiser --real-dir "$S/utkface-aligned/images" --n 300 --out-dir "$ALIGNED/denoiser-utk" --threads 1

# Training reals: CelebA (split by identity), UTKFace and BSDS500 train; the threshold is set on their held-out
# calibration splits plus BSDS500 val; BSDS500 test is used only to measure false positives.
ID=",identity=$IDS"
DATA=(--real "celeba=$REAL$ID,limit=4000" --real "utkface=$S/utkface-aligned/images,limit=3000"
  --real "bsds=$S/bsds500/train" --calib-real "bsds-val=$S/bsds500/val" --test-real "bsds-test=$S/bsds500/test"
  --fake "decoder=$ALIGNED/decoder-utk,domain=utkface" --fake "faceswap=$ALIGNED/faceswap-utk,domain=utkface"
  --fake "gan=$LAB/gan" --fake "diffusion=$LAB/diffusion" --fake "diffusion=$ALIGNED/diffusion-celeba$ID"
  --fake "diffusion=$ALIGNED/diffusion-bsds,domain=bsds" --fake "decoder=$ALIGNED/decoder-celeba$ID"
  --fake "decoder=$ALIGNED/decoder-bsds,domain=bsds" --fake "faceswap=$LAB/faceswap" --fake "faceswap=$ALIGNED/faceswap-celeba$ID"
  --fake "denoiser=$ALIGNED/denoiser-celeba$ID" --fake "denoiser=$ALIGNED/denoiser-bsds,domain=bsds"
  --fake "denoiser=$ALIGNED/denoiser-utk,domain=utkface" --sbi celeba --sbi utkface)
STEPS=${STEPS:-2000}
LOFO_STEPS=${LOFO_STEPS:-1500}  # what the checked-in leave-out reports used
# Leave-one-family-out: the headline figure (reports only, no weights kept).
for family in gan diffusion decoder denoiser faceswap; do
  $PY -m detectors.training --name "lofo-$family" "${DATA[@]}" --exclude-family "$family" --no-weights \
    --steps "$LOFO_STEPS" --degradations clean,jpeg75 --out detectors/weights/evaluation/lofo --device "$DEVICE"
done
# Face swaps once more with the self-blended reals kept in training (they come from no generator): the held-out
# set is then only our face-swap generator's swaps, the protocol of the self-blended-images paper.
$PY -m detectors.training --name lofo-faceswap-keep-self-blends "${DATA[@]}" --exclude-family faceswap --keep-self-blends \
  --no-weights --steps "$LOFO_STEPS" --degradations clean,jpeg75 --out detectors/weights/evaluation/lofo --device "$DEVICE"
# Two leave-outs repeated over three training seeds on one data draw: the spread a single row hides (~45 min each).
for family in diffusion decoder; do
  $PY -m detectors.training.repeat --name "lofo-$family" "${DATA[@]}" --exclude-family "$family" --seeds 0,1,2 \
    --steps "$LOFO_STEPS" --degradations clean,jpeg75 --eval-limit 200 --out detectors/weights/evaluation/lofo/repeats \
    --device "$DEVICE"
done
# The GAN leave-out under training revision 2, one seed (~15 min; the row in the README's table).
$PY -m detectors.training.repeat --name lofo-gan "${DATA[@]}" --exclude-family gan --seeds 0 --steps "$LOFO_STEPS" \
  --degradations clean,jpeg75 --eval-limit 200 --out detectors/weights/evaluation/lofo/repeats --device "$DEVICE"
$PY -m detectors.training --name synthetic-image "${DATA[@]}" --steps "$STEPS" --out detectors/weights --device "$DEVICE" \
  --degradations clean,jpeg90,jpeg75,jpeg50,resize0.5,blur1.0,screenshot
# The face detector is the same network, calibrated and measured on MTCNN face crops (native resolution).
$PY -m detectors.training --name face-synthetic --crop faces "${DATA[@]}" --init-from detectors/weights/synthetic-image.safetensors \
  --steps 0 --out detectors/weights

UTK=${UTK:-../shared/datasets/utkface-aligned/images}
$PY -m detectors.evaluation --model synthetic-image --utkface "$UTK" --limit 2000 --out detectors/weights/evaluation/synthetic-image
$PY -m detectors.evaluation --model face-synthetic --utkface "$UTK" --limit 1000 --out detectors/weights/evaluation/face-synthetic

# LLM-text detectors, from ../shared/datasets/human-vs-llm-text (CPU is fine).
$PY -m detectors.text train-supervised --out detectors/weights --seed 0
$PY -m detectors.text train-lm
$PY -m detectors.text calibrate-binoculars
