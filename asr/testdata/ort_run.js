// Runs an ONNX model in onnxruntime-node on float32 inputs, for the export
// test: node ort_run.js MODEL.onnx SPEC.json. SPEC lists the runs,
// [{"input": "x.f32", "dims": [B, N], "output": "y.f32"}, ...]: each input
// is read as little-endian float32 values fed to the graph input "audio",
// and the output "logits" is written the same way. Prints each output's
// dims, one JSON line per run.
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, spec] = [process.argv[2], JSON.parse(fs.readFileSync(process.argv[3]))];
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  for (const r of spec) {
    const buf = fs.readFileSync(r.input);
    const x = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    const out = (await session.run({ audio: new ort.Tensor('float32', x, r.dims) })).logits;
    fs.writeFileSync(r.output, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
    console.log(JSON.stringify(out.dims));
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
