#!/usr/bin/env bash
# Side-by-side speed of wav2vec-go and onnxruntime on the same base-sized model (README.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="${1:-/tmp/wav2vec-ort}"
mkdir -p "$work"
if [[ ! -f "$work/base/model.safetensors" ]]; then
	/usr/bin/python3 "$repo/tools/reference/w2v2_fixtures.py" --base "$work/base"
fi
if [[ ! -f "$work/base/model.onnx" ]]; then
	/usr/bin/python3 "$here/export.py" "$work/base" "$work/base/model.onnx"
fi
if [[ ! -d "$work/node/node_modules/onnxruntime-node" ]]; then
	mkdir -p "$work/node"
	(cd "$work/node" && npm init -y >/dev/null && npm install --ignore-scripts onnxruntime-node >/dev/null)
fi
for threads in 1 2; do
	NODE_PATH="$work/node/node_modules" node "$here/bench.js" "$work/base/model.onnx" "$threads" 5
done
cd "$repo"
go test -c -o "$work/published.test" ./published
# GOMAXPROCS, one run per thread count: in our runs go test -cpu 1,2 reported the two-core speed for both.
for threads in 1 2; do
	W2V2_BASE="$work/base" GOMAXPROCS=$threads "$work/published.test" -test.run XXX -test.bench BenchmarkWav2Vec2Base -test.benchtime 5x | grep -E '^Benchmark'
done
