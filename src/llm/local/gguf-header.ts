import { closeSync, openSync, readSync } from 'node:fs';

/** What the catalog needs from a GGUF file before any model is loaded. */
export interface GgufHeader {
  architecture: string;
  /** The context the model was trained with (`<architecture>.context_length`), when the file says. */
  trainedContext: number | null;
  name: string | null;
}

/** A file that is not a GGUF model we can read: the reason is shown as is. */
export class GgufHeaderError extends Error {
  override readonly name = 'GgufHeaderError';
}

const MAGIC = 0x46554747; // "GGUF", little-endian
const CHUNK = 1 << 16;
// Value types of GGUF metadata: their sizes, where fixed.
const FIXED_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const STRING = 8;
const ARRAY = 9;

/** Reads a file forward through a small buffer, with synchronous reads (done once per model at start). */
class Cursor {
  private buf = Buffer.alloc(0);
  private at = 0;
  private filePos = 0;

  constructor(private readonly fd: number) {}

  private need(n: number): void {
    if (this.buf.length - this.at >= n) return;
    const rest = this.buf.subarray(this.at);
    const chunk = Buffer.alloc(Math.max(CHUNK, n - rest.length));
    const read = readSync(this.fd, chunk, 0, chunk.length, this.filePos);
    this.filePos += read;
    this.buf = Buffer.concat([rest, chunk.subarray(0, read)]);
    this.at = 0;
    if (this.buf.length < n) throw new GgufHeaderError('the file ends inside its header (truncated, or not a GGUF model)');
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.at);
    this.at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufHeaderError('its header holds an impossible size (corrupt file)');
    return Number(v);
  }
  skip(n: number): void {
    while (n > 0) {
      const step = Math.min(n, CHUNK);
      this.need(step);
      this.at += step;
      n -= step;
    }
  }
  string(): string {
    const length = this.u64();
    if (length > 1 << 26) throw new GgufHeaderError('its header holds an impossible string length (corrupt file)');
    this.need(length);
    const s = this.buf.toString('utf8', this.at, this.at + length);
    this.at += length;
    return s;
  }
  /** A scalar as a number (integers and floats) or string; null for other kinds. */
  value(type: number): number | string | null {
    if (type === STRING) return this.string();
    if (type === ARRAY) {
      const of = this.u32();
      const count = this.u64();
      if (of === STRING) for (let i = 0; i < count; i++) this.string();
      else if (FIXED_SIZES[of] !== undefined) this.skip(FIXED_SIZES[of] * count);
      else throw new GgufHeaderError(`its header holds an array of unknown type ${of} (corrupt file)`);
      return null;
    }
    const size = FIXED_SIZES[type];
    if (size === undefined) throw new GgufHeaderError(`its header holds a value of unknown type ${type} (corrupt file)`);
    this.need(size);
    const at = this.at;
    this.at += size;
    switch (type) {
      case 4:
        return this.buf.readUInt32LE(at);
      case 5:
        return this.buf.readInt32LE(at);
      case 10:
        return Number(this.buf.readBigUInt64LE(at));
      case 11:
        return Number(this.buf.readBigInt64LE(at));
      default:
        return null;
    }
  }
}

/**
 * The architecture, name and trained context of a GGUF file, read from its metadata (tensors
 * are not touched). Throws GgufHeaderError, or the file system's error for a file that cannot be read.
 */
export function readGgufHeader(path: string): GgufHeader {
  const fd = openSync(path, 'r');
  try {
    const cursor = new Cursor(fd);
    if (cursor.u32() !== MAGIC) throw new GgufHeaderError('it is not a GGUF file (wrong magic number)');
    const version = cursor.u32();
    if (version < 2 || version > 3) throw new GgufHeaderError(`GGUF version ${version} is not supported (2 and 3 are)`);
    cursor.u64(); // tensors
    const entries = cursor.u64();
    const values = new Map<string, number | string>();
    for (let i = 0; i < entries; i++) {
      const key = cursor.string();
      const value = cursor.value(cursor.u32());
      if (value !== null && (key.startsWith('general.') || key.endsWith('.context_length'))) values.set(key, value);
    }
    const architecture = values.get('general.architecture');
    if (typeof architecture !== 'string') throw new GgufHeaderError('its metadata has no general.architecture');
    const context = values.get(`${architecture}.context_length`);
    const name = values.get('general.name');
    return {
      architecture,
      trainedContext: typeof context === 'number' && context > 0 ? context : null,
      name: typeof name === 'string' ? name : null,
    };
  } finally {
    closeSync(fd);
  }
}
