import { writeFileSync } from 'node:fs';

/**
 * Writes a tiny GGUF (v3) model of the llama architecture with random F32 weights and a small
 * SentencePiece ("llama") vocabulary: every byte token, a few control tokens, ChatML's turn
 * markers and some words. llama.cpp loads it and generates (nonsense) with it, which is all the
 * local-provider tests need; nothing is downloaded. The format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 */
export interface TinyGgufOptions {
  /** Trained context length written into the file (llama.context_length). */
  contextLength?: number;
  embedding?: number;
  blocks?: number;
  heads?: number;
  /** Seeds the weights: the same seed writes the same file. */
  seed?: number;
  /** A chat template (Jinja); default ChatML. */
  chatTemplate?: string;
  /** Writes one token twice: llama.cpp stops its whole process on such a vocabulary (an assertion), which a server must survive. */
  duplicateToken?: boolean;
}

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const WORDS = [
  'the',
  'a',
  'and',
  'of',
  'to',
  'in',
  'is',
  'it',
  'you',
  'that',
  'hello',
  'world',
  'model',
  'local',
  'chat',
  'token',
  'yes',
  'no',
  'what',
  'how',
  'why',
  'here',
  'there',
  'answer',
  'question',
  'say',
  'tell',
  'me',
  'about',
  'this',
  'one',
  'two',
];

// GGUF value types.
const UINT32 = 4;
const INT32 = 5;
const FLOAT32 = 6;
const STRING = 8;
const ARRAY = 9;
const ALIGNMENT = 32;
/** <unk>, <s>, </s>, <|im_start|>, <|im_end|>: the first tokens of the vocabulary. */
const CONTROL_TOKENS = 5;

type Value =
  | { type: typeof UINT32 | typeof INT32 | typeof FLOAT32 | typeof STRING; value: number | string }
  | { type: typeof ARRAY; of: number; values: Array<number | string> };

class ByteWriter {
  private chunks: Buffer[] = [];
  length = 0;

  push(buf: Buffer): void {
    this.chunks.push(buf);
    this.length += buf.length;
  }
  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    this.push(b);
  }
  i32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    this.push(b);
  }
  u64(n: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.push(b);
  }
  f32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(n);
    this.push(b);
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  pad(): void {
    const rest = this.length % ALIGNMENT;
    if (rest) this.push(Buffer.alloc(ALIGNMENT - rest));
  }
  scalar(type: number, value: number | string): void {
    if (type === STRING) this.str(value as string);
    else if (type === UINT32) this.u32(value as number);
    else if (type === INT32) this.i32(value as number);
    else this.f32(value as number);
  }
  result(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** The vocabulary: <unk>, <s>, </s>, ChatML's markers, the 256 byte tokens, then words with and without a leading ▁. */
function vocabulary(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens: string[] = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>'];
  const types: number[] = [2, 3, 3, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
  const pieces = new Set(['▁', ...letters, ...letters.map((c) => `▁${c}`), ...WORDS.map((w) => `▁${w}`), ...WORDS, '.', ',', '?', '!', '\n']);
  for (const piece of pieces) {
    tokens.push(piece);
    types.push(1);
  }
  // Longer pieces score higher, so the tokenizer prefers whole words to letters and bytes.
  const scores = tokens.map((t, i) => (types[i] === 1 ? -100 + t.length * 10 : 0));
  return { tokens, scores, types };
}

function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 0xffffffff) * 2 - 1;
  };
}

/** The file's bytes. */
export function tinyGguf(options: TinyGgufOptions = {}): Buffer {
  const embedding = options.embedding ?? 64;
  const blocks = options.blocks ?? 2;
  const heads = options.heads ?? 4;
  const ff = embedding * 2;
  const vocab = vocabulary();
  if (options.duplicateToken) {
    vocab.tokens.push(vocab.tokens.at(-1)!);
    vocab.scores.push(vocab.scores.at(-1)!);
    vocab.types.push(vocab.types.at(-1)!);
  }
  const nVocab = vocab.tokens.length;
  const rand = random(options.seed ?? 42);

  const metadata: Array<[string, Value]> = [
    ['general.architecture', { type: STRING, value: 'llama' }],
    ['general.name', { type: STRING, value: 'colloquy-tiny-test' }],
    ['general.alignment', { type: UINT32, value: ALIGNMENT }],
    ['llama.context_length', { type: UINT32, value: options.contextLength ?? 2048 }],
    ['llama.embedding_length', { type: UINT32, value: embedding }],
    ['llama.block_count', { type: UINT32, value: blocks }],
    ['llama.feed_forward_length', { type: UINT32, value: ff }],
    ['llama.attention.head_count', { type: UINT32, value: heads }],
    ['llama.attention.head_count_kv', { type: UINT32, value: heads }],
    ['llama.rope.dimension_count', { type: UINT32, value: embedding / heads }],
    ['llama.attention.layer_norm_rms_epsilon', { type: FLOAT32, value: 1e-5 }],
    ['tokenizer.ggml.model', { type: STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: ARRAY, of: STRING, values: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: ARRAY, of: FLOAT32, values: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: ARRAY, of: INT32, values: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { type: UINT32, value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: UINT32, value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: UINT32, value: 4 }],
    ['tokenizer.chat_template', { type: STRING, value: options.chatTemplate ?? CHATML }],
  ];

  // Tensors as [name, dims (ne0 first), init]: norms are ones, the rest small random values.
  const tensors: Array<[string, number[], 'ones' | 'random']> = [
    ['token_embd.weight', [embedding, nVocab], 'random'],
    ['output_norm.weight', [embedding], 'ones'],
    ['output.weight', [embedding, nVocab], 'random'],
  ];
  for (let i = 0; i < blocks; i++) {
    tensors.push(
      [`blk.${i}.attn_norm.weight`, [embedding], 'ones'],
      [`blk.${i}.attn_q.weight`, [embedding, embedding], 'random'],
      [`blk.${i}.attn_k.weight`, [embedding, embedding], 'random'],
      [`blk.${i}.attn_v.weight`, [embedding, embedding], 'random'],
      [`blk.${i}.attn_output.weight`, [embedding, embedding], 'random'],
      [`blk.${i}.ffn_norm.weight`, [embedding], 'ones'],
      [`blk.${i}.ffn_gate.weight`, [embedding, ff], 'random'],
      [`blk.${i}.ffn_up.weight`, [embedding, ff], 'random'],
      [`blk.${i}.ffn_down.weight`, [ff, embedding], 'random'],
    );
  }

  const out = new ByteWriter();
  out.push(Buffer.from('GGUF', 'ascii'));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.str(key);
    out.u32(value.type);
    if (value.type === ARRAY) {
      out.u32(value.of);
      out.u64(value.values.length);
      for (const v of value.values) out.scalar(value.of, v);
    } else {
      out.scalar(value.type, value.value);
    }
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const [name, dims] of tensors) {
    out.str(name);
    out.u32(dims.length);
    for (const d of dims) out.u64(d);
    out.u32(0); // GGML_TYPE_F32
    out.u64(offset);
    const bytes = dims.reduce((a, b) => a * b, 1) * 4;
    sizes.push(bytes);
    offset += Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;
  }
  out.pad();
  tensors.forEach(([name, dims, init], i) => {
    const count = dims.reduce((a, b) => a * b, 1);
    const data = Buffer.alloc(Math.ceil(sizes[i] / ALIGNMENT) * ALIGNMENT);
    // The output projection gives the control tokens (end of turn among them) zero logits and the
    // others a wide spread, so an answer practically never ends early: tests choose its length with max_tokens.
    const output = name === 'output.weight';
    for (let k = 0; k < count; k++) {
      const value = init === 'ones' ? 1 : output && Math.floor(k / embedding) < CONTROL_TOKENS ? 0 : rand() * (output ? 2 : 0.5);
      data.writeFloatLE(value, k * 4);
    }
    out.push(data);
  });
  return out.result();
}

/** Writes the model to `path` and returns the path. */
export function writeTinyGguf(path: string, options: TinyGgufOptions = {}): string {
  writeFileSync(path, tinyGguf(options));
  return path;
}
