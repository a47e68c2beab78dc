#!/usr/bin/env bash
# The evaluation suite on this host's NVIDIA GPU(s), in one go; results under $OUT.
#
#   OUT=/tmp/eval-gpu bash scripts/eval-gpu.sh        # from the repository root
#
# suanli.evalsuite imports nothing of the platform (an import-linter contract keeps it so),
# so it runs from the source tree with the host's own python3, NumPy and PyTorch (the
# CUDA build that matches the driver): nothing is installed. It writes
#   eval-gpu.json       the suite's result (what `suanli eval` stores for a pool)
#   ratio.txt           dense FP16/BF16 GEMM measured over the catalog's datasheet figure
#   vendor-*.txt        the vendor's own benchmark tools, where one is installed
# The same suite runs as platform jobs with `suanli eval run` on a fleet whose pool is
# this GPU (`suanli up` on a GPU host adds its cards to the demo fleet).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$ROOT/eval-gpu-out}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
cd "$ROOT"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/nvidia-smi.csv"
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$PY" -m suanli.evalsuite --suite all --device cuda --out "$OUT/eval-gpu.json" >"$OUT/suite.log" 2>&1 \
  || { tail -50 "$OUT/suite.log"; exit 1; }
"$PY" - "$OUT/eval-gpu.json" "$ROOT/src/suanli/data/accelerators.yaml" <<'PYEOF' | tee "$OUT/ratio.txt"
import json, sys, yaml
result = json.load(open(sys.argv[1]))
fold = lambda s: "".join(c for c in s.lower() if c.isalnum())
device = result["hardware"]["device"]
entry = next((a for a in yaml.safe_load(open(sys.argv[2]))["accelerators"]
              if fold(device) in {fold(n) for n in [a["model"], *a.get("aliases", [])]}), None)
sheet = entry["fp16_tflops"]["value"] if entry else None
print(f"{device}: catalog {entry['model'] if entry else 'no entry'}, dense FP16/BF16 {sheet} TFLOPS")
for i in result["items"]:
    value = f"{i['value']:.4g} {i['unit']}" if i["value"] is not None else i["status"]
    extra = f" = {i['value'] / sheet:.1%} of the datasheet" if sheet and i["name"] in ("gemm_fp16", "gemm_bf16") and i["value"] else ""
    if i["kind"] != "conformance" or i["status"] != "passed":
        print(f"  {i['kind']:<11} {i['name']:<22} {value}{extra}  {i['detail']}")
print(f"suite: {result['seconds']:.1f} s, torch {result['software']['torch']}, cuda {result['software']['cuda']}")
PYEOF
# The vendor's own tools, where installed: DCGM's tensor-core load (FP16), NCCL's tests.
found=0
for tool in dcgmproftester13 dcgmproftester12 dcgmproftester11; do
  if command -v "$tool" >/dev/null; then
    found=1; timeout 120 "$tool" --no-dcgm-validation -t 1004 -d 15 >"$OUT/vendor-dcgmproftester.txt" 2>&1 || true
    break
  fi
done
if command -v all_reduce_perf >/dev/null; then
  found=1; timeout 120 all_reduce_perf -b 256M -e 256M -g "$(nvidia-smi -L | wc -l)" >"$OUT/vendor-nccl-tests.txt" 2>&1 || true
fi
if command -v nvbandwidth >/dev/null; then
  found=1; timeout 120 nvbandwidth >"$OUT/vendor-nvbandwidth.txt" 2>&1 || true
fi
[ "$found" = 1 ] || echo "no vendor benchmark tool installed (dcgmproftester, nccl-tests, nvbandwidth)" | tee "$OUT/vendor-none.txt"
