#!/usr/bin/env bash
# Install nlvision as a user does and run it: the wheel with no extras into a fresh venv
# outside the source tree, then with the [train] extra; the sdist unpacked and tested.
# Usage: .ci/install_smoke.sh DIST_DIR   (DIST_DIR holds one wheel and one sdist)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dist=$(cd "${1:-dist}" && pwd)
wheel=$(ls "$dist"/nlvision-*.whl)
sdist=$(ls "$dist"/nlvision-*.tar.gz)
work=$(mktemp -d "${TMPDIR:-/tmp}/nlvision-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

python3 -m venv user
user/bin/pip install -q --upgrade pip
user/bin/pip install -q torch==2.13.0          # the CPU build; plain `torch` would pull CUDA
user/bin/pip install -q "$wheel"
echo "smoke: core install (no extras) is $(du -sm user | cut -f1) MB"
nlv=user/bin/nlvision

$nlv --version
$nlv --help > /dev/null
user/bin/python - <<'PY'
from skimage import data, io
io.imsave("camera.png", data.camera())
PY
$nlv noise add camera.png --sigma 15 -o noisy.png
$nlv denoise noisy.png -o clean.png --json > denoise.json
$nlv encrypt camera.png --scheme block_shuffle --strength 0.5 -o enc.png
$nlv vsi score camera.png enc.png --json > vsi.json
$nlv demo --only "Denoising" -o demo > /dev/null
test -s demo/report.html
# Bad input: one line, exit 2, nothing written.
set +e
$nlv denoise missing.png -o never.png 2> err.txt; rc=$?
set -e
test "$rc" -eq 2 && test ! -e never.png && test "$(wc -l < err.txt)" -eq 1
# A deep-learning command without the [train] extra names the extra and exits 2.
set +e
$nlv classify train --data digits --epochs 1 -o run 2> err.txt; rc=$?
set -e
cat err.txt
test "$rc" -eq 2 && grep -q "\[train\]" err.txt && test ! -e run

user/bin/pip install -q "${wheel}[train]"
$nlv classify train --data digits --epochs 1 --limit-batches 2 --backbone resnet18 --width 16 --upsample-steps 0 \
    --finetune --accelerator cpu --devices 1 --no-progress -o run --json > train.json
user/bin/python -c "import json; r = json.load(open('train.json')); print('smoke: digits accuracy after 2 batches', r['accuracy'])"

# The sdist is complete: unpack it and run the default test suite from it.
tar xzf "$sdist"
src_dir=$(ls -d nlvision-*/)
(cd "$src_dir" && PYTHONPATH=src "$repo/.venv/bin/python" -m pytest -q -n 2 -p no:cacheprovider)
echo "smoke: all passed"
