// @ts-check
// What the local-model thread (llama.worker.mjs) and the load probe (llama-probe.mjs) share:
// starting llama.cpp's prebuilt binary (never a source build: offline it cannot succeed, and it
// would take minutes) with its log captured, so a failure can say what llama.cpp said.
// Plain JavaScript: started as files by Node itself, from dist/ and from src/ under jest.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

/** @typedef {{ gguf: string, contextSize: number, threads: number, gpuLayers: number | 'auto' | 'max', parallel: number, gpu: 'auto' | 'cuda' | 'vulkan' | 'metal' | 'off' }} LocalLoadSpec */

/** The last lines llama.cpp logged at warning level or above, newest last. */
export const llamaLog = /** @type {string[]} */ ([]);

/** @param {LocalLoadSpec['gpu']} gpu */
export async function startLlama(gpu) {
  return getLlama({
    build: 'never',
    gpu: gpu === 'off' ? false : gpu,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      if (level === LlamaLogLevel.disabled) return;
      const line = message.trim();
      if (!line) return;
      llamaLog.push(line);
      if (llamaLog.length > 20) llamaLog.shift();
    },
  });
}

/** What went wrong at load, in llama.cpp's words when it said any. @param {unknown} err */
export function loadFailure(err) {
  const said = llamaLog.filter((line) => /error|fail|invalid|unknown|missing|corrupt|not /i.test(line)).slice(-3);
  const message = err instanceof Error ? err.message : String(err);
  return said.length ? `${message}: ${said.join('; ')}` : message;
}
