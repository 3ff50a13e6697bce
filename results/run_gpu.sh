#!/usr/bin/env bash
# Record chapter 12's GPU results on one CUDA machine, from the repository root:
#
#     results/run_gpu.sh    # CSVs into bertedu/bench/results/ (the package's recorded results,
#                           # bertedu.bench.recorded_results()) or into $OUT when that is set;
#                           # the log into results/logs/
#
# Stages, most important first, each under its own time limit so that one slow stage cannot take
# the others' results with it: the seed's training and inference grids in float16 (bertedu and
# transformers, eager and SDPA), the model-parity tests on the GPU, the variable-length grid
# (plain, torch.compile, torch.compile with CUDA graphs), a per-kernel profile of one training
# step, and bfloat16. ONLY=<regex> runs the stages whose names match (e.g. ONLY=varlen).
# The recorded results came from two calls (see results/README.md).
# Needs python3 with CUDA torch and transformers 4.x (a folder of wheels in .whl/ is installed
# first when present); BERTEDU_DATA (default .devdata) may hold sst2/validation.jsonl.
set -u
OUT=${OUT:-bertedu/bench/results}
PY=${PYTHON:-python3}
REPS=${REPS:-30}
mkdir -p "$OUT" results/logs
LOG=${LOG:-results/logs/run_gpu_$(date -u +%F).log}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export BERTEDU_DATA=${BERTEDU_DATA:-.devdata}
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl >>"$LOG" 2>&1 && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

stage() {  # stage NAME SECONDS COMMAND...   (skipped unless NAME matches $ONLY, default all)
    local name=$1 limit=$2 start=$SECONDS
    shift 2
    [[ $name =~ ${ONLY:-.} ]] || return 0
    echo "=== $name (limit ${limit}s)" | tee -a "$LOG"
    timeout "$limit" "$@" >>"$LOG" 2>&1
    echo "=== $name: exit $? after $((SECONDS - start))s" | tee -a "$LOG"
}

BENCH=("$PY" -m bertedu bench --compare-transformers --reps "$REPS" --out "$OUT/")

stage environment 30 bash -c "nvidia-smi; $PY -c 'import sys, torch, transformers; \
print(sys.version); print(torch.__version__, torch.version.cuda, transformers.__version__); \
print(torch.cuda.get_device_name(0))'"
stage train-float16 150 "${BENCH[@]}" --grid gpu-train --dtype float16
stage infer-float16 60 "${BENCH[@]}" --grid gpu-infer --dtype float16
stage parity-cuda 90 env BERTEDU_TEST_DEVICE=cuda "$PY" -m pytest -q -n 4 \
    tests/test_parity.py tests/model/test_unpadded.py
stage unpadded-cuda 45 env BERTEDU_TEST_DEVICE=cuda "$PY" -m pytest -q tests/model/test_unpadded.py
stage varlen-float16 90 "${BENCH[@]}" --grid gpu-varlen --dtype float16
stage varlen-float16-compile 100 "${BENCH[@]}" --grid gpu-varlen --dtype float16 --compile
stage varlen-float16-cudagraphs 80 "${BENCH[@]}" --grid gpu-varlen --dtype float16 --compile \
    --compile-mode reduce-overhead
stage varlen-bfloat16 50 "${BENCH[@]}" --grid gpu-varlen --dtype bfloat16
stage profile-float16 60 "${BENCH[@]}" --grid gpu-train --dtype float16 --profile
stage all-bfloat16 120 "${BENCH[@]}" --grid gpu --dtype bfloat16
tail -n 60 "$LOG" | grep -E "^===|passed|failed|error" || true
