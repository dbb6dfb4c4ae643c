#!/usr/bin/env bash
# The recipe of the shipped weights: intra -> inter -> joint (-> joint_long) for one variant.
# Each stage is resumable: rerunning continues from runs/<variant>/<stage>/last.ckpt.
# Usage: scripts/train_default.sh VARIANT THREADS [STEP_SCALE] [LONG]
#   LONG=1 adds the joint_long stage (the shipped flavc weights ran it with THREADS=2).
set -euo pipefail
V=${1:-flavc}; TH=${2:-1}; S=${3:-1}; LONG=${4:-0}; PY=${PY:-python}
C=src/flavc_codec/train/configs
steps() { $PY -c "import json,sys; print(int(json.load(open('$C/$1.json'))['steps']*$S))"; }
$PY -m flavc_codec.train $C/intra.json --variant "$V" --threads "$TH" --out "runs/$V/intra" --steps "$(steps intra)"
$PY -m flavc_codec.train $C/inter.json --variant "$V" --threads "$TH" --out "runs/$V/inter" --steps "$(steps inter)" --init "runs/$V/intra/$V.safetensors"
$PY -m flavc_codec.train $C/joint.json --variant "$V" --threads "$TH" --out "runs/$V/joint" --steps "$(steps joint)" --init "runs/$V/inter/$V.safetensors"
if [ "$LONG" = 1 ]; then
  $PY -m flavc_codec.train $C/joint_long.json --variant "$V" --threads "$TH" --out "runs/$V/joint_long" --steps "$(steps joint_long)" --init "runs/$V/joint/$V.safetensors"
fi
$PY scripts/write_recipe.py "$V"
