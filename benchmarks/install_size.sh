#!/usr/bin/env bash
# Size of a core install (the wheel, no extras) against the former all-in-one dependency set
# (core + pytorch-lightning + tensorboard + opencv-contrib, what every install carried before
# the extras split), both measured in this run in fresh venvs. Prints MB and the ratio.
# Usage: bash benchmarks/install_size.sh   (builds the wheel with .venv's python)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/nlvision-size.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$repo/.venv/bin/python" -m build --wheel --outdir "$work/dist" "$repo" > /dev/null
wheel=$(ls "$work"/dist/nlvision-*.whl)
size() { du -sm "$1" | cut -f1; }
python3 -m venv "$work/core" && "$work/core/bin/pip" install -q torch==2.13.0 && "$work/core/bin/pip" install -q "$wheel"
python3 -m venv "$work/old" && "$work/old/bin/pip" install -q torch==2.13.0 && \
  "$work/old/bin/pip" install -q "$wheel" pytorch-lightning tensorboard opencv-contrib-python-headless
core=$(size "$work/core"); old=$(size "$work/old")
python3 -c "print(f'core install {$core} MB; former all-in-one set {$old} MB; ratio {$core/$old:.2f}')"
