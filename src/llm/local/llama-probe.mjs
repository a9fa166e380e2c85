// @ts-check
// Loads a GGUF once in a short-lived child process before the server loads it in its own.
// llama.cpp stops the whole process (an assertion, an abort) on some malformed files instead of
// returning an error; here that ends only this child, and the server reports the file as corrupt.
// Prints one JSON line: { ok: true, cpuRam, gpuVram, trainContextSize } or { ok: false, reason }.
import { GgufInsights, readGgufFileInfo } from 'node-llama-cpp';
import { loadFailure, startLlama } from './llama-runtime.mjs';

/** @type {import('./llama-runtime.mjs').LocalLoadSpec} */
const spec = JSON.parse(process.argv[2] ?? '{}');

/** @param {object} result */
function report(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

try {
  const llama = await startLlama(spec.gpu);
  const info = await readGgufFileInfo(spec.gguf, { logWarnings: false });
  const insights = await GgufInsights.from(info, llama);
  const gpuLayers = typeof spec.gpuLayers === 'number' ? spec.gpuLayers : llama.gpu ? insights.totalLayers : 0;
  const modelNeeds = insights.estimateModelResourceRequirements({ gpuLayers });
  const contextNeeds = insights.estimateContextResourceRequirements({
    contextSize: spec.contextSize,
    modelGpuLayers: gpuLayers,
    sequences: spec.parallel,
  });
  // Memory is checked by the server before it loads; a load here only proves the file is sound.
  const model = await llama.loadModel({ modelPath: spec.gguf, gpuLayers: 0, useMmap: true, ignoreMemorySafetyChecks: true });
  const trainContextSize = model.trainContextSize;
  await model.dispose();
  report({
    ok: true,
    cpuRam: modelNeeds.cpuRam + contextNeeds.cpuRam,
    gpuVram: modelNeeds.gpuVram + contextNeeds.gpuVram,
    trainContextSize,
    gpu: llama.gpu,
  });
} catch (err) {
  report({ ok: false, reason: loadFailure(err) });
}
