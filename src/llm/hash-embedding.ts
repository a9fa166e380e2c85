import { EMBED_DIMENSIONS } from './model-catalog.js';

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * colloquy/embed's vector: the feature-hashed bag of words (lower-cased letters and digits, or
 * token ids for token-array input), L2-normalised. Deterministic and offline; texts that share
 * words point the same way, so similarity search works for development, nothing more. Fewer
 * `dimensions` hash into fewer buckets (so a short vector still carries every word).
 */
export function hashEmbedding(input: string | readonly number[], dimensions = EMBED_DIMENSIONS): number[] {
  const out = new Array<number>(dimensions).fill(0);
  const features = typeof input === 'string' ? (input.toLowerCase().match(WORD) ?? []) : input.map(String);
  for (const feature of features) {
    const h = fnv1a(feature);
    out[h % dimensions] += h & 0x80000000 ? -1 : 1;
  }
  const norm = Math.hypot(...out);
  return norm === 0 ? out : out.map((x) => x / norm);
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
