#!/usr/bin/env bash
# One call on a lent GPU machine (docs/TRAINING.md, "Training on a lent GPU"): install the
# carried wheels, unpack the carried WebP caches (scripts/pack_cache.py), run the
# cross-device and GPU speed checks, train for MINUTES, and return checkpoint (in 15 MB
# parts), weights and logs through $OUT. Idempotent: on a machine kept warm it resumes.
# Usage: scripts/device_train.sh MINUTES [CONFIG] [CHECKS=1]
set -uo pipefail
MIN=${1:-8}; CFG=${2:-src/flavc_codec/train/configs/joint_gpu.json}; CHECKS=${3:-1}
PY=python3; export PYTHONUNBUFFERED=1; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
if [ ! -f /tmp/site/.ok ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && touch /tmp/site/.ok || exit 1
fi
export PYTHONPATH=/tmp/site:$PWD/src
$PY -c "import torch, numpy, compressai, constriction; from flavc_codec.models.flavc import FLAVC
print('torch', torch.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name())" || exit 1
mkdir -p cache
unpack() {  # NAME PACK...: unpack again only when the set of carried packs changed
  local name=$1; shift
  if [ $# = 0 ]; then  # packs not carried this call: a warm machine keeps its caches
    [ -f "cache/$name.npy" ] && return 0
    echo "no packs for cache/$name.npy: carry them (devdata/...)"; return 1
  fi
  [ -f "cache/$name.npy" ] && [ "$(cat "cache/$name.key" 2>/dev/null)" = "$*" ] && return 0
  $PY scripts/pack_cache.py unpack "$@" "cache/$name.npy" --workers 16 && echo "$*" > "cache/$name.key"
}
unpack dev_T5_128 $(ls -d devdata/t5_128 2>/dev/null) || exit 1
unpack dev_T3_256 $(ls -d devdata/t3_256* 2>/dev/null) || exit 1
if [ "$CHECKS" = 1 ]; then
  X=/tmp/xdev; rm -rf $X; mkdir -p $X
  timeout 120 $PY benchmarks/cross_device.py encode devdata/xclip.npz $X/clip --device cuda > $X/clip.log 2>&1
  tail -n 4 $X/clip.log
  for m in flavc flavc-light; do
    timeout 100 $PY benchmarks/cross_device.py encode devdata/xclip.npz $X/hd_$m --device cuda \
      --tile 1920x1080 --model $m > $X/hd_$m.log 2>&1
    grep -E '"(model|size|same_device_decode_equal|encode_s_per_frame_median|decode_s_per_frame_median)"' $X/hd_$m/encode.json
    rm -f $X/hd_$m/*.y4m $X/hd_$m/stream.flv
  done
  tar cf "$OUT/xdev.tar" -C $X .
fi
RUN=$($PY -c "import json; print(json.load(open('$CFG'))['out'])")
if [ -f devdata/resume.ckpt ] && [ ! -f "$RUN/last.ckpt" ]; then  # seeds a fresh machine
  mkdir -p "$RUN" && cp devdata/resume.ckpt "$RUN/last.ckpt"
fi
$PY -m flavc_codec.train "$CFG" --time-limit "$MIN" > "$OUT/train.log" 2>&1; rc=$?
tail -c 2000 "$OUT/train.log" | tr '\r' '\n' | grep -v '^ *$' | tail -n 4
tail -n 2 "$RUN/log.jsonl"
split -b 15M -d "$RUN/last.ckpt" "$OUT/ckpt.part"
cp "$RUN/flavc.safetensors" "$OUT/" 2>/dev/null
tar cf "$OUT/logs.tar" -C "$RUN" log.jsonl config.json $(cd "$RUN" && ls weights.json 2>/dev/null)
nvidia-smi --query-gpu=name,memory.used,memory.total,utilization.gpu --format=csv,noheader
exit $rc
