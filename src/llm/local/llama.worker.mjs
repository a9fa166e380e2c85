// @ts-check
// One local model's thread: llama.cpp holds the model and one context with `parallel` sequences;
// each generate message takes a free sequence, renders the chat with the model's own template
// (tokenizer.chat_template, through node-llama-cpp's chat wrappers), counts the prompt with the
// model's tokenizer, enforces the context window and streams text back. The server's thread
// admits at most `parallel` generations at once, so a sequence is always free here.
// Plain JavaScript: started as a file by Node itself, from dist/ and from src/ under jest.
import { parentPort, workerData } from 'node:worker_threads';
import { resolveChatWrapper, TokenBias } from 'node-llama-cpp';
import { loadFailure, startLlama } from './llama-runtime.mjs';

/**
 * @typedef {{ role: 'system' | 'user' | 'assistant', text: string }} LocalMessage
 * @typedef {{ maxTokens: number | null, maxOutputTokens: number, safetyMargin: number, temperature: number, topP: number, topK: number,
 *   seed: number | null, repeatPenalty: number, frequencyPenalty: number, presencePenalty: number, stop: string[], logitBias: Record<string, number> }} LocalSampling
 */

/** Prompt tokens read between two checks for a client that left. */
const PROMPT_BATCH = 512;

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const spec = /** @type {import('./llama-runtime.mjs').LocalLoadSpec} */ (workerData);

/** @type {import('node-llama-cpp').LlamaModel | null} */
let model = null;
/** @type {import('node-llama-cpp').LlamaContext | null} */
let context = null;
/** @type {ReturnType<typeof resolveChatWrapper> | null} */
let wrapper = null;
/** Free sequences (each keeps what it evaluated last: a follow-up turn reuses its cached prefix). */
const free = /** @type {Array<{ sequence: import('node-llama-cpp').LlamaContextSequence }>} */ ([]);
/** Generations under way, by request id. */
const running = /** @type {Map<string, AbortController>} */ (new Map());

async function load() {
  try {
    const llama = await startLlama(spec.gpu);
    model = await llama.loadModel({ modelPath: spec.gguf, gpuLayers: spec.gpuLayers });
    context = await model.createContext({ contextSize: spec.contextSize, sequences: spec.parallel, threads: spec.threads });
    wrapper = resolveChatWrapper(model);
    for (let i = 0; i < spec.parallel; i++) {
      const sequence = context.getSequence();
      free.push({ sequence });
    }
    port.postMessage({
      type: 'loaded',
      modelBytes: model.size,
      chatTemplate: wrapper.wrapperName,
      gpu: llama.gpu,
    });
  } catch (err) {
    port.postMessage({ type: 'failed', reason: loadFailure(err) });
  }
}

/** @param {LocalMessage[]} messages */
function render(messages) {
  const m = /** @type {import('node-llama-cpp').LlamaModel} */ (model);
  const w = /** @type {NonNullable<typeof wrapper>} */ (wrapper);
  /** @type {import('node-llama-cpp').ChatHistoryItem[]} */
  const history = messages.map((msg) =>
    msg.role === 'system'
      ? { type: 'system', text: msg.text }
      : msg.role === 'user'
        ? { type: 'user', text: msg.text }
        : { type: 'model', response: [msg.text] },
  );
  history.push({ type: 'model', response: [] });
  const state = w.generateContextState({ chatHistory: history });
  return { tokens: state.contextText.tokenize(m.tokenizer), stopTriggers: state.stopGenerationTriggers };
}

/** @param {string} id @param {LocalMessage[]} messages @param {LocalSampling} sampling */
async function generate(id, messages, sampling) {
  // The configured window (llama.cpp may give the context more room: it rounds its size up).
  const contextSize = spec.contextSize;
  let rendered;
  try {
    rendered = render(messages);
  } catch (err) {
    // A template may refuse a conversation (Jinja's raise_exception on turns out of order).
    const why = err instanceof Error ? err.message : String(err);
    port.postMessage({ type: 'error', id, code: 'template_rejected', message: `The model's chat template rejected the messages: ${why}` });
    return;
  }
  const { tokens, stopTriggers } = rendered;
  const promptTokens = tokens.length;
  const requested = sampling.maxTokens;
  if (promptTokens + (requested ?? 1) > contextSize || (requested === null && promptTokens + sampling.safetyMargin >= contextSize)) {
    const asked = requested === null ? '' : ` (${promptTokens} in the messages, ${requested} in the completion)`;
    const total = promptTokens + (requested ?? 0);
    port.postMessage({
      type: 'error',
      id,
      code: 'context_length_exceeded',
      message:
        `This model's maximum context length is ${contextSize} tokens, however you requested ${total} tokens${asked}` +
        (requested === null ? `, and ${sampling.safetyMargin} are kept free for the answer` : '') +
        '. Please reduce the length of the messages or completion.',
    });
    return;
  }
  const maxTokens = requested ?? Math.min(sampling.maxOutputTokens, contextSize - promptTokens - sampling.safetyMargin);
  const slot = /** @type {(typeof free)[number]} */ (free.pop());
  const controller = new AbortController();
  running.set(id, controller);
  port.postMessage({ type: 'started', id, promptTokens });
  try {
    const { completionTokens, finishReason } = await sample(slot.sequence, tokens, maxTokens, sampling, stopTriggers, id, controller.signal);
    port.postMessage({ type: 'done', id, promptTokens, completionTokens, finishReason });
  } catch (err) {
    port.postMessage({ type: 'error', id, code: 'local_generation_failed', message: err instanceof Error ? err.message : String(err) });
  } finally {
    running.delete(id);
    free.push(slot);
  }
}

/**
 * Evaluates the prompt (what the sequence already holds of it is kept: a follow-up turn reuses its
 * cached prefix) and samples up to maxTokens tokens, each one counted: the count is exact. Text is
 * sent as soon as it is whole (a character split across tokens waits for its end) and cannot be
 * the start of a stop sequence.
 * @param {import('node-llama-cpp').LlamaContextSequence} sequence
 * @param {import('node-llama-cpp').Token[]} tokens
 * @param {number} maxTokens
 * @param {LocalSampling} sampling
 * @param {Array<import('node-llama-cpp').LlamaText>} templateStops
 * @param {string} id
 * @param {AbortSignal} signal
 * @returns {Promise<{ completionTokens: number, finishReason: 'stop' | 'length' | 'abort' }>}
 */
async function sample(sequence, tokens, maxTokens, sampling, templateStops, id, signal) {
  const m = /** @type {import('node-llama-cpp').LlamaModel} */ (model);
  const held = sequence.contextTokens;
  let common = 0;
  while (common < held.length && common < tokens.length - 1 && held[common] === tokens[common]) common++;
  if (common < sequence.nextTokenIndex) await sequence.eraseContextTokenRanges([{ start: common, end: sequence.nextTokenIndex }]);
  // The template's stops as text (its end-of-turn marker); its special tokens end the answer as end-of-generation tokens.
  const stops = [
    ...sampling.stop,
    ...templateStops.filter((t) => t.values.length && t.values.every((v) => typeof v === 'string')).map((t) => t.values.join('')),
  ];
  const longestStop = Math.max(0, ...stops.map((s) => s.length));
  const generated = /** @type {import('node-llama-cpp').Token[]} */ ([]);
  let pending = /** @type {import('node-llama-cpp').Token[]} */ ([]);
  let unsent = '';
  /** @type {'stop' | 'length' | 'abort'} */
  let finishReason = 'length';
  const bias = Object.keys(sampling.logitBias).length ? tokenBias(sampling.logitBias) : undefined;
  // A long prompt is read in batches, so a client that leaves meanwhile stops it between two.
  let start = common;
  while (tokens.length - start > PROMPT_BATCH) {
    await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(start, start + PROMPT_BATCH));
    start += PROMPT_BATCH;
    if (signal.aborted) return { completionTokens: 0, finishReason: 'abort' };
  }
  const iterator = sequence.evaluate(tokens.slice(start), {
    temperature: sampling.temperature,
    topP: sampling.topP,
    topK: sampling.topK,
    ...(sampling.seed !== null ? { seed: sampling.seed } : {}),
    repeatPenalty: {
      punishTokens: () => generated.slice(-64),
      penalty: sampling.repeatPenalty,
      ...(sampling.frequencyPenalty ? { frequencyPenalty: sampling.frequencyPenalty } : {}),
      ...(sampling.presencePenalty ? { presencePenalty: sampling.presencePenalty } : {}),
    },
    ...(bias ? { tokenBias: bias } : {}),
  });
  const send = (/** @type {string} */ text) => text && port.postMessage({ type: 'text', id, text });
  for await (const token of iterator) {
    if (signal.aborted) {
      finishReason = 'abort';
      break;
    }
    if (m.isEogToken(token)) {
      finishReason = 'stop';
      break;
    }
    const before = generated.slice(-8);
    generated.push(token);
    pending.push(token);
    const piece = m.detokenize(pending, false, before.length ? before : undefined);
    if (piece.endsWith('\uFFFD') && pending.length < 4 && generated.length < maxTokens) continue;
    pending = [];
    unsent += piece;
    const hit = stops.reduce((first, stop) => {
      const at = unsent.indexOf(stop);
      return at >= 0 && (first < 0 || at < first) ? at : first;
    }, -1);
    if (hit >= 0) {
      send(unsent.slice(0, hit));
      unsent = '';
      finishReason = 'stop';
      break;
    }
    const safe = Math.max(0, unsent.length - Math.max(0, longestStop - 1));
    send(unsent.slice(0, safe));
    unsent = unsent.slice(safe);
    if (generated.length >= maxTokens) break;
  }
  await iterator.return?.();
  if (finishReason !== 'stop') send(unsent);
  return { completionTokens: generated.length, finishReason };
}

/** OpenAI's logit_bias (token id → -100…100; -100 bans the token) as llama.cpp's token bias. @param {Record<string, number>} bias */
function tokenBias(bias) {
  const m = /** @type {import('node-llama-cpp').LlamaModel} */ (model);
  const vocabulary = m.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
  const out = new TokenBias(m.tokenizer);
  for (const [token, value] of Object.entries(bias)) {
    const id = Number(token);
    if (Number.isInteger(id) && id >= 0 && id < vocabulary) {
      out.set(/** @type {import('node-llama-cpp').Token} */ (id), value <= -100 ? 'never' : { logit: value });
    }
  }
  return out;
}

port.on('message', (/** @type {any} */ message) => {
  if (message.type === 'generate') void generate(message.id, message.messages, message.sampling);
  else if (message.type === 'cancel') running.get(message.id)?.abort();
  else if (message.type === 'close') {
    for (const controller of running.values()) controller.abort();
    void Promise.resolve(context?.dispose())
      .then(() => model?.dispose())
      .finally(() => port.postMessage({ type: 'closed' }));
  }
});

void load();
