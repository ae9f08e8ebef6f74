// Times onnxruntime on an ONNX model of wav2vec 2.0 over 10 s of audio:
// node bench.js MODEL.onnx THREADS [RUNS]. Prints x-realtime.
const ort = require('onnxruntime-node');

async function main() {
  const [model, threads, runs] = [process.argv[2], Number(process.argv[3] || 1), Number(process.argv[4] || 5)];
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  const n = 160000;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.01);
  const feeds = { audio: new ort.Tensor('float32', x, [1, n]) };
  await session.run(feeds); // warm-up
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`onnxruntime ${ort.env.versions.common} threads ${threads}: ${median.toFixed(3)} s per 10 s, ${(10 / median).toFixed(2)} x-realtime`);
}
main().catch((e) => { console.error(e); process.exit(1); });
