#!/usr/bin/env bash
# Every GPU measurement of issue 10 in one go, under 8 minutes on one H100:
#   bash benchmarks/gpu_session.sh DATA_DIR        (DATA_DIR holds train/<class>/*.jpg: the CIFAR-10 archive, extracted)
# Steps, each under its own timeout and all under one overall budget (GPU_SESSION_BUDGET_S, default 450 s):
#   1 step ablation: eager vs CUDA graph x precision x memory format (full size: bf16 channels_last only), capture time, drop-path RNG check, the
#     choose_gpu_fraction probe (benchmarks/step_ablation.py)
#   2 decode CIFAR-10 once into the tensor cache
#   3 ours vs the DARTS reference, proxy and full size (benchmarks/vs_reference.py)
#   4 the search-level figure: a real run_search.py, 4 candidates at 0.25 GPU, vs the reference one after another
#   5 a search's candidates per hour and where its worker time goes, 40 candidates (benchmarks/search_throughput.py)
#   5b concurrent proxies on one GPU, 1/2/4 at once (benchmarks/gpu_sharing.py)
#   6 zero-cost proxies: every proxy on NAS-Bench-201 cells, seconds a cell on the GPU (nasbench201_scores.py)
#   7 with CUDA MPS, when nvidia-cuda-mps-control is there (GPU_SESSION_MPS=0 skips it): steps 4 and 5 again
# Output: everything in $OUT/session.log, the result tables in $OUT/summary.md (printed again at the end).
# The DARTS reference is looked for in $NAS_DARTS_REFERENCE, .device/darts, shared/peers/darts, ../shared/peers/darts.
# CPU try-out of the whole script (tiny sizes): GPU_SESSION_DEVICE=cpu bash benchmarks/gpu_session.sh DATA_DIR
# Only some steps: GPU_SESSION_STEPS="decode_cache search search_mps gpu_sharing_mps" (names as in the == lines);
# that is what the next session needs (the others were measured on 2026-11-26, BENCHMARKS.md).
set -u
DATA=${1:?usage: gpu_session.sh DATA_DIR}
DEVICE=${GPU_SESSION_DEVICE:-cuda}
BUDGET=${GPU_SESSION_BUDGET_S:-450}
CAP_SCALE=1  # a slow 2-core CPU needs longer limits for the tiny sizes
OUT=${OUT:-/tmp/gpu-session}
mkdir -p "$OUT"
export NAS_CACHE_DIR=${NAS_CACHE_DIR:-/tmp/nas-cache}
export PYTHONPATH=${PYTHONPATH:-}:$(cd "$(dirname "$0")/.." && pwd)
LOG=$OUT/session.log
SUMMARY=$OUT/summary.md
: >"$LOG"
: >"$SUMMARY"
START=$SECONDS

if [ "$DEVICE" = cpu ]; then  # tiny sizes: proves the script runs end to end, measures nothing worth keeping
    CAP_SCALE=${GPU_SESSION_CAP_SCALE:-5}
    ABLATION="--modes proxy --steps 1 --batch 4 --formats first"
    ABLATION_FULL="--modes full --steps 1 --batch 2 --formats first --no-checks"
    VS="--images 200 --epochs 2 --modes proxy"
    SEARCH="--images 200 --epochs 2 --modes proxy --search --search-trials 2 --search-workers 1 --search-cpus-per-trial 1 --search-subset 200 --search-val 40 --search-epochs 1"
    SHARING="--concurrency 1 --subset 400 --epochs 1"
    ZERO_COST="--cells 3"
    THROUGHPUT="--trials 2 --subset 400 --val-size 100"
else
    ABLATION="--modes proxy --steps 25"
    ABLATION_FULL="--modes full --steps 10 --formats first --no-checks"
    VS="--images 5000 --epochs 3 --modes proxy,full"
    # 8 candidates of 3 epochs on 9,000 images: the 16 of the first session did not finish in 170 s
    SEARCH="--images 5000 --epochs 3 --modes proxy --search --search-trials 8 --search-workers 4 --search-cpus-per-trial 3 --search-subset 10000 --search-val 1000 --search-epochs 3"
    SHARING="--concurrency 1,2,4 --subset 10000 --epochs 2"
    ZERO_COST="--cells 300"
    # issue 22: candidates per GPU-hour of a real search and where worker time goes (cold cache: it decodes itself)
    THROUGHPUT="--trials 40"
fi

# step NAME CAP_SECONDS COMMAND...: runs under min(CAP, budget left); its table lines go to the summary
step() {
    local name=$1 cap=$(($2 * CAP_SCALE))
    shift 2
    if [ -n "${GPU_SESSION_STEPS:-}" ] && [[ " $GPU_SESSION_STEPS " != *" $name "* ]]; then
        echo "== $name: not selected (GPU_SESSION_STEPS)" | tee -a "$LOG" "$SUMMARY"
        return
    fi
    local left=$((BUDGET - (SECONDS - START)))
    local limit=$((cap < left ? cap : left))
    if [ "$limit" -lt 15 ]; then
        echo "== $name: skipped, overall budget spent" | tee -a "$LOG" "$SUMMARY"
        return
    fi
    local began=$SECONDS
    echo "== $name (limit ${limit} s): $*" | tee -a "$LOG"
    timeout -k 10 "$limit" "$@" >>"$LOG" 2>&1
    local code=$?
    local status="ok"
    [ $code -eq 124 ] || [ $code -eq 137 ] && status="TIMED OUT"
    [ $code -ne 0 ] && [ "$status" = ok ] && status="FAILED (exit $code)"
    {
        echo
        echo "### $name: $status, $((SECONDS - began)) s"
        # the step's own output since its header: tables, check lines, JSON result lines
        sed -n "/^== $name (limit/,\$p" "$LOG" | grep -E '^\||^(device|machine|reference|drop-path|choose_gpu|not measured)|"search"|Error|error' | tail -50
    } >>"$SUMMARY"
    echo "== $name: $status after $((SECONDS - began)) s" | tee -a "$LOG"
}

{
    echo "# GPU session for issue 10 ($(date -u '+%Y-%m-%d %H:%M UTC'), device $DEVICE)"
    python3 -c "import torch, ray, optuna; print('torch', torch.__version__, '| ray', ray.__version__, '| optuna', optuna.__version__, '| cuda', torch.cuda.is_available() and torch.cuda.get_device_name())"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,power.limit --format=csv,noheader
} 2>&1 | tee -a "$LOG" "$SUMMARY"

step ablation 80 python3 benchmarks/step_ablation.py --device "$DEVICE" $ABLATION
step ablation_full 60 python3 benchmarks/step_ablation.py --device "$DEVICE" $ABLATION_FULL
step decode_cache 120 python3 -c "import sys; from nas.data import load_dataset; d = load_dataset('imagefolder', sys.argv[1], progress=False); d.train.decoded(); d.test.decoded(); print('decoded', len(d.train), 'train images')" "$DATA"
step vs_reference 200 python3 benchmarks/vs_reference.py --data "$DATA" --device "$DEVICE" $VS
step search 170 python3 benchmarks/vs_reference.py --data "$DATA" --device "$DEVICE" $SEARCH
step search_throughput 150 python3 benchmarks/search_throughput.py --data "$DATA" --device "$DEVICE" $THROUGHPUT
step gpu_sharing 100 python3 benchmarks/gpu_sharing.py --data "$DATA" $SHARING
step zero_cost 60 python3 benchmarks/nasbench201_scores.py --data "$DATA" --device "$DEVICE" --proxies all \
    --out "$OUT/zero-cost" $ZERO_COST

if [ "$DEVICE" != cpu ] && [ "${GPU_SESSION_MPS:-1}" = 1 ] && command -v nvidia-cuda-mps-control >/dev/null; then
    export CUDA_MPS_PIPE_DIRECTORY=/tmp/nvidia-mps CUDA_MPS_LOG_DIRECTORY=/tmp/nvidia-mps-log
    mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
    if nvidia-cuda-mps-control -d >>"$LOG" 2>&1; then
        step search_mps 150 python3 benchmarks/vs_reference.py --data "$DATA" --device "$DEVICE" $SEARCH
        step gpu_sharing_mps 70 python3 benchmarks/gpu_sharing.py --data "$DATA" --concurrency 4 --subset 10000 --epochs 2
        echo quit | nvidia-cuda-mps-control >>"$LOG" 2>&1  # stop the daemon we started
    else
        echo "== gpu_sharing_mps: MPS daemon did not start" | tee -a "$LOG" "$SUMMARY"
    fi
else
    echo "== gpu_sharing_mps: skipped (cpu, GPU_SESSION_MPS=0, or no nvidia-cuda-mps-control)" | tee -a "$LOG" "$SUMMARY"
fi

echo "total: $((SECONDS - START)) s" | tee -a "$LOG" "$SUMMARY"
echo
echo "================ summary ($SUMMARY) ================"
cat "$SUMMARY"
