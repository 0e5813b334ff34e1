#!/usr/bin/env bash
# The GPU part of the benchmark (issue 4) as one prepared command for a
# session that is lent the device machine (an H100/H200 with its own
# PyTorch, no internet, no CIFAR-10 download).
#
#   here:   bash scripts/device_bench.sh prepare
#           copies the two classes of the config ($MLP_LAB_CONFIG, default the
#           assignment's) from $MLP_LAB_DATA (default
#           ../shared/data/cifar10-jpg) into data/device-images (ignored by
#           git, about 48 MB for two classes: under the tool's 64 MiB)
#   there:  run(command="bash scripts/device_bench.sh run",
#               carry=["data/device-images"], timeout_s=540)
#           prints the GPU and torch, runs `python -m mlp_lab bench` on CUDA
#           and writes $OUT/recorded-gpu.json and $OUT/bench-gpu.log (more
#           arguments go to the bench: `run --quick` is a one-minute smoke run)
#
# The bench's float64_identical / float32_identical flags are the trainers'
# equality on CUDA; its environment records the SGD code path.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=data/device-images

case "${1:-}" in
prepare)
    src="${MLP_LAB_DATA:-../shared/data/cifar10-jpg}"
    classes=$(python3 -c "from mlp_lab.config import load_config; \
print(*load_config().classes)")  # config.py needs no torch
    rm -rf "$IMAGES"
    for split in train test; do
        for c in $classes; do
            mkdir -p "$IMAGES/$split"
            cp -r "$src/$split/$c" "$IMAGES/$split/$c"
        done
    done
    du -sh "$IMAGES"
    ;;
run)
    [ -d "$IMAGES" ] || { echo "error: $IMAGES missing: run 'prepare' here and" \
        "carry it" >&2; exit 2; }
    out="${OUT:-/tmp}"
    nvidia-smi -L || true
    python3 -c "import torch, torchvision; print('torch', torch.__version__, \
'torchvision', torchvision.__version__, 'cuda', torch.cuda.is_available() \
and torch.cuda.get_device_name())"
    set -o pipefail
    MLP_LAB_DATA="$IMAGES" MLP_LAB_CACHE=/tmp/mlp_lab-cache PYTHONUNBUFFERED=1 \
        python3 -m mlp_lab bench --json "$out/recorded-gpu.json" "${@:2}" 2>&1 \
        | tee "$out/bench-gpu.log"
    ;;
*)
    echo "usage: $0 prepare | run [bench arguments]" >&2
    exit 2
    ;;
esac
