// Counts tokens of long texts off the main thread (see TokenCounter): tiktoken costs about a
// quarter of a microsecond per byte, and a long prompt or document counted inline would hold up
// every other request. Plain ESM JavaScript, loaded by path under jest and from dist/ alike.
//
// Protocol. In: { id, texts: string[] }. Out: { id, ok: true, counts: number[] } or
// { id, ok: false, message }. Nothing is thrown across the boundary.
import '../../common/background-priority.js';
import { parentPort } from 'node:worker_threads';
import { countTokens } from './bpe-count.js';

let encoder = null;

parentPort.on('message', async ({ id, texts }) => {
  try {
    if (!encoder) {
      const tiktoken = (await import('tiktoken')).default;
      encoder = tiktoken.get_encoding('o200k_base');
    }
    parentPort.postMessage({ id, ok: true, counts: texts.map((text) => countTokens(encoder, text)) });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, message: String(err?.message ?? err) });
  }
});
