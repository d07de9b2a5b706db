#!/usr/bin/env bash
# Market-1501 recipe for a GPU machine (issue #19): BoT's training of the seed's models, then the
# attack / defense study on Market-1501 for both targets, with throughput recorded.
#
#   MARKET=/data/Market-1501-v15.09.15 WEIGHTS=/data/resnet50-0676ba61.pth bash benchmarks/reid_market_gpu.sh
#
# WEIGHTS: torchvision's ImageNet ResNet-50 (state dict, .pth or .safetensors), loaded with --weights
# (nothing is downloaded). Outputs go to ${OUT:-runs/market}; the throughput log is
# ${OUT}/throughput.jsonl. Not run on the CPU-only machine of this session.
set -euo pipefail
: "${MARKET:?set MARKET to the Market-1501 root (bounding_box_train, query, bounding_box_test)}"
: "${WEIGHTS:?set WEIGHTS to torchvision ImageNet ResNet-50 weights}"
OUT=${OUT:-runs/market}
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-src}

# 1. throughput of the full-size model (256x128 ResNet-50, four NFD blocks), bf16 autocast vs fp32
python benchmarks/reid_market_throughput.py --device cuda --batch 64 --iters 50 | tee -a "$OUT/throughput.jsonl"

# 2. BoT recipe: PK 16x4, Adam 3.5e-4, warm-up 10 epochs, x0.1 at 40 and 70, 120 epochs, 256x128, ImageNet weights
for arch in bot aligned; do
  for defense in "--no-cre --no-nfd" "--cre --nfd"; do
    name=$arch$( [ "$defense" = "--cre --nfd" ] && echo _nfd || echo _base )
    /usr/bin/time -f "{\"run\": \"$name\", \"wall_s\": %e}" -a -o "$OUT/throughput.jsonl" \
      python -m nlvision.cli reid train --data "market1501:$MARKET" --arch $arch $defense --weights "$WEIGHTS" \
        --epochs 120 --p 16 --k 4 --lr 3.5e-4 --accelerator gpu --devices 1 --precision bf16-mixed \
        --no-progress -o "$OUT/$name" --json | tee "$OUT/$name.json"
  done
done

# 3. the attack / defense study on Market-1501 at full size (grey-box source seed 1000, 3 seeds per row)
for arch in bot aligned; do
  python -m nlvision.cli reid study --target $arch --data "market1501:$MARKET" --backbone resnet50 --width 64 \
    --height 256 --input-width 128 --epochs 120 --lr 3.5e-4 --p 16 --k 4 --seeds 3 --epsilons 2,4,8,16 \
    --white-box-epsilons 8,16 --no-aligned-neck --schedule bot --weights "$WEIGHTS" --accelerator gpu -o "$OUT/study_$arch" --json > "$OUT/study_$arch.json"
done
