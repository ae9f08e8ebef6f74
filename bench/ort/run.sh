#!/usr/bin/env bash
# Side-by-side speed of wav2vec-go and onnxruntime on the same weights (README.md), at 1 and
# 2 threads on 10 s of audio: the embedded default model as `wav2vec export` writes it, and a
# random wav2vec2-base-sized model, exported both by `wav2vec export` and by torch.onnx.export
# (BASE=0 leaves the base model out; it needs Debian's python3-torch and python3-torchaudio).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="${1:-/tmp/wav2vec-ort}"
runs="${RUNS:-20}"
mkdir -p "$work"
if [[ ! -d "$work/node/node_modules/onnxruntime-node" ]]; then
	mkdir -p "$work/node"
	(cd "$work/node" && npm init -y >/dev/null && npm install --ignore-scripts onnxruntime-node >/dev/null)
fi
cd "$repo"
go build -o "$work/wav2vec" ./cmd/wav2vec
go test -c -o "$work/asr.test" ./asr
# ort MODEL THREADS: onnxruntime's x-realtime (the median of $runs runs after a warm-up).
ort() { NODE_PATH="$work/node/node_modules" node "$here/bench.js" "$1" "$2" "$runs" | awk '{print $(NF-1)}'; }
# gobench BINARY BENCH THREADS [ENV]: the Go benchmark's x-realtime and GFLOP/s, one process per GOMAXPROCS
# (in our runs go test -cpu 1,2 reported the two-core speed for both).
gobench() {
	env ${4:-} GOMAXPROCS="$3" "$1" -test.run XXX -test.bench "$2" -test.benchtime "${runs}x" |
		awk '/^Benchmark/ {for (i = 1; i < NF; i++) {if ($(i+1) == "x-realtime") x = $i; if ($(i+1) == "GFLOP/s") g = $i}} END {print x, g}'
}
row() { # MODEL THREADS GO_XRT GO_GFLOPS ORT_XRT
	awk -v m="$1" -v t="$2" -v gx="$3" -v gg="$4" -v ox="$5" 'BEGIN {printf "%-34s %7d %10.1f %9.0f %12.1f %8.2f\n", m, t, gx, gg, ox, gx / ox}'
}
ortver="$(NODE_PATH="$work/node/node_modules" node -e "console.log(require('onnxruntime-node').env.versions.common)")"
echo "$(date -u +%F), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs, onnxruntime $ortver"
printf "%-34s %7s %10s %9s %12s %8s\n" model threads go-xrt go-GFLOP/s onnxrt-xrt go/onnxrt
"$work/wav2vec" export -q default "$work/default.onnx"
for threads in 1 2; do
	read -r gx gg < <(gobench "$work/asr.test" 'BenchmarkForward/default$' "$threads")
	row "default (export)" "$threads" "$gx" "$gg" "$(ort "$work/default.onnx" "$threads")"
done
if [[ "${BASE:-1}" == 1 ]]; then
	if [[ ! -f "$work/base/model.safetensors" ]]; then
		/usr/bin/python3 "$repo/tools/reference/w2v2_fixtures.py" --base "$work/base"
	fi
	if [[ ! -f "$work/base/model.onnx" ]]; then
		/usr/bin/python3 "$here/export.py" "$work/base" "$work/base/model.onnx"
	fi
	"$work/wav2vec" export -q --caller-normalizes "$work/base" "$work/base/wav2vec.onnx"
	go test -c -o "$work/published.test" ./published
	for threads in 1 2; do
		read -r gx gg < <(gobench "$work/published.test" BenchmarkWav2Vec2Base "$threads" "W2V2_BASE=$work/base")
		row "base (export)" "$threads" "$gx" "$gg" "$(ort "$work/base/wav2vec.onnx" "$threads")"
		row "base (torch.onnx.export)" "$threads" "$gx" "$gg" "$(ort "$work/base/model.onnx" "$threads")"
	done
fi
