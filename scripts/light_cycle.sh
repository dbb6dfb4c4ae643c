#!/usr/bin/env bash
# One flavc-light training cycle on CPU: intra stage, two joint stages, the four
# validations against the cycle's starting weights, and the anchor eval.
#
#   scripts/light_cycle.sh INTRA_CONFIG LONG1_CONFIG LONG2_CONFIG
#
# Each `flavc train` resumes from its run's last.ckpt, and a stage whose weights exist is
# skipped, so an interrupted cycle is continued by running the same command again.
# Validation JSON lands in benchmarks/results/validation/, the eval in runs/eval/<LONG2>/;
# whether to ship is decided by hand, by the ship rule in docs/TRAINING.md.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 INTRA_CONFIG LONG1_CONFIG LONG2_CONFIG" >&2; exit 2; }
command -v flavc >/dev/null || { echo "flavc is not on PATH: activate the environment it is installed in" >&2; exit 2; }
t() { echo "$(date +%T) $*"; "$@"; echo "$(date +%T) done"; }
out_of() { python -c "import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

mkdir -p runs
for cfg in "$@"; do
  run=$(out_of "$cfg" out)
  w="$run/flavc-light.safetensors"
  name=$(basename "$run")
  if [ -f "$w" ]; then echo "$(date +%T) $name: $w exists, skipped"; continue; fi
  echo "$(date +%T) flavc train $cfg (log: runs/$name.log)"
  flavc train "$cfg" > "runs/$name.log" 2>&1
  echo "$(date +%T) done"
  [ -f "$w" ] || { echo "$name produced no weights; see runs/$name.log" >&2; exit 1; }
done

S=$(out_of "$1" init)
M="$(out_of "$2" out)/flavc-light.safetensors"
W="$(out_of "$3" out)/flavc-light.safetensors"
P=$(basename "$(dirname "$S")")
N=$(basename "$(dirname "$W")")
V=benchmarks/results/validation
# the four validation sets, as CACHE:COUNT:PREFIX (no COUNT: the validator's default)
for set in val_T5_128:: val_T32_128:16:gop32_ val_tex_T5_128:64:tex_ val_fast_T5_128:64:fast_; do
  IFS=: read -r cache count prefix <<< "$set"
  t python -m flavc_codec.train.validate --data "cache/$cache.npy" ${count:+--count "$count"} \
    --json "$V/$prefix${P}_to_$N.json" "$S" "$M" "$W"
done
t python benchmarks/eval.py --model flavc-light --weights "$W" --no-kodak --anchors x264,x265 \
  --refine-intra 0 --quiet --out "runs/eval/$N"
t python benchmarks/compare_runs.py benchmarks/results/light/eval.json "runs/eval/$N/eval.json" \
  --json "runs/eval/$N/compare.json"
echo ALL DONE
