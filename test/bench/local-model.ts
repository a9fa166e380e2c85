import { join } from 'node:path';
import { request } from 'undici';
import { writeTinyGguf } from '../support/gguf-writer.js';

/** The local model the bench's colloquy serves beside the stand-in upstream (written into its models directory). */
export const LOCAL_MODEL = 'bench-local';
const ANSWER_TOKENS = 256;
const RUNS = 5;

export interface LocalModelFigures {
  /** Time to the first content chunk, median of the runs (the model already loaded). */
  ttftMs: number;
  /** Tokens per second of one stream after its first token, median. */
  tokensPerSecond: number;
  /** Tokens per second of two streams at once (parallel: 2), both together. */
  tokensPerSecondParallel: number;
  /** The first request: probe, load and answer. */
  firstRequestMs: number;
  answerTokens: number;
}

/** The catalog line for the bench's YAML. */
export function localModelYaml(modelsDir: string): string {
  const gguf = writeTinyGguf(join(modelsDir, 'bench-local.gguf'));
  return `  - { id: ${LOCAL_MODEL}, provider: local, gguf: "${gguf}", parallel: 2 }`;
}

async function stream(origin: string, adminKey: string): Promise<{ ttftMs: number; totalMs: number; tokens: number }> {
  const start = performance.now();
  const res = await request(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: LOCAL_MODEL,
      messages: [{ role: 'user', content: 'tell me about the local model' }],
      max_tokens: ANSWER_TOKENS,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (res.statusCode !== 200) throw new Error(`the local model answered ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`);
  let ttftMs = 0;
  let text = '';
  for await (const chunk of res.body) {
    text += (chunk as Buffer).toString();
    if (!ttftMs && text.includes('"content":"') && /"content":"[^"]/.test(text)) ttftMs = performance.now() - start;
  }
  const tokens = Number(/"completion_tokens":(\d+)/.exec(text)?.[1] ?? NaN);
  return { ttftMs, totalMs: performance.now() - start, tokens };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Tokens per second and time to first token of the tiny test model (a figure, not a target: its size is nothing like a real model's). */
export async function measureLocalModel(origin: string, adminKey: string): Promise<LocalModelFigures> {
  const first = await stream(origin, adminKey);
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await stream(origin, adminKey));
  const start = performance.now();
  const pair = await Promise.all([stream(origin, adminKey), stream(origin, adminKey)]);
  const pairSeconds = (performance.now() - start) / 1000;
  return {
    ttftMs: median(runs.map((r) => r.ttftMs)),
    tokensPerSecond: median(runs.map((r) => r.tokens / ((r.totalMs - r.ttftMs) / 1000))),
    tokensPerSecondParallel: (pair[0].tokens + pair[1].tokens) / pairSeconds,
    firstRequestMs: first.totalMs,
    answerTokens: ANSWER_TOKENS,
  };
}

export function renderLocalModel(f: LocalModelFigures): string {
  return (
    `tiny GGUF (llama, 2 blocks × 64, random weights; 1 thread): time to first token ${f.ttftMs.toFixed(1)} ms, ` +
    `${f.tokensPerSecond.toFixed(0)} tokens/s in one stream, ${f.tokensPerSecondParallel.toFixed(0)} tokens/s over two at once ` +
    `(${f.answerTokens} tokens each); first request (probe, load, answer) ${f.firstRequestMs.toFixed(0)} ms`
  );
}
