import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobStore } from './blob-store.js';

/** What a driver's spec gives the shared contract. */
export interface BlobStoreHarness {
  store: BlobStore;
  /** Everything the driver holds at or under `prefix` (objects, files, directories, incomplete uploads). */
  leftovers: (prefix: string) => Promise<string[]>;
}

const MIB = 1024 * 1024;

/** A body of random bytes, produced chunk by chunk so the test never holds it whole either. */
export interface GeneratedBody {
  stream: Readable;
  /** Bytes handed to the reader so far. */
  readonly emitted: number;
  /** SHA-256 of the bytes emitted so far (of the whole body once it ended). */
  sha256(): string;
}

export function generatedBody(options: {
  /** Ends after this many bytes; never ends when omitted. */
  total?: number;
  /** Errors with `error` once this many bytes were emitted. */
  failAfter?: { bytes: number; error: Error };
  /** Called after each chunk with the running total. */
  onProgress?: (emitted: number) => void;
  chunkSize?: number;
}): GeneratedBody {
  const hash = createHash('sha256');
  const chunkSize = options.chunkSize ?? 256 * 1024;
  let emitted = 0;
  let digest: string | null = null;
  const stream = new Readable({
    read() {
      const { total, failAfter } = options;
      if (failAfter && emitted >= failAfter.bytes) {
        this.destroy(failAfter.error);
        return;
      }
      if (total !== undefined && emitted >= total) {
        this.push(null);
        return;
      }
      const chunk = randomBytes(total === undefined ? chunkSize : Math.min(chunkSize, total - emitted));
      hash.update(chunk);
      emitted += chunk.length;
      this.push(chunk);
      options.onProgress?.(emitted);
    },
  });
  return {
    stream,
    get emitted() {
      return emitted;
    },
    sha256: () => (digest ??= hash.digest('hex')),
  };
}

export async function digestOf(stream: Readable): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const INVALID_KEYS: Array<[string, string]> = [
  ['empty', ''],
  ['absolute', '/etc/passwd'],
  ['parent segment', 'files/../../etc/passwd'],
  ['bare parent', '..'],
  ['current segment', 'files/./a'],
  ['backslash', 'files\\a'],
  ['NUL', 'files/a\u0000b'],
  ['empty segment', 'files//a'],
  ['trailing slash', 'files/a/'],
  ['too long', `files/${'x'.repeat(200)}/${'y'.repeat(200)}/${'z'.repeat(200)}`],
];

/**
 * The behaviour every BlobStore driver must have, defined once and run by each driver's spec.
 * `largeBytes` should exceed the driver's multipart threshold, `failAfterBytes` lie past its
 * first part, so the streaming and cleanup paths are the ones really taken.
 */
export function blobStoreContract(
  harness: () => BlobStoreHarness,
  sizes: { largeBytes: number; failAfterBytes: number } = { largeBytes: 12 * MIB, failAfterBytes: 7 * MIB },
): void {
  let run = 0;
  const prefix = (): string => `contract-${Date.now().toString(36)}-${++run}`;

  it('round-trips a streamed multi-megabyte body byte for byte', async () => {
    const { store } = harness();
    const key = `${prefix()}/large.bin`;
    const body = generatedBody({ total: sizes.largeBytes });

    const result = await store.put(key, body.stream, { contentType: 'application/octet-stream' });

    expect(result).toEqual({ size: sizes.largeBytes, sha256: body.sha256() });
    expect(await store.head(key)).toMatchObject({ size: sizes.largeBytes });
    expect(await digestOf(await store.get(key))).toEqual({ size: sizes.largeBytes, sha256: body.sha256() });
  });

  it('stores a Buffer and reports its size and digest', async () => {
    const { store } = harness();
    const key = `${prefix()}/hello.txt`;
    const bytes = Buffer.from('hello, blob store\n');

    expect(await store.put(key, bytes, { contentType: 'text/plain' })).toEqual({ size: bytes.length, sha256: sha256(bytes) });
    expect(await readAll(await store.get(key))).toEqual(bytes);
  });

  it('accepts keys with spaces and non-ASCII characters', async () => {
    const { store } = harness();
    const key = `${prefix()}/ü ñ (1)/résumé — 東京.txt`;
    await store.put(key, Buffer.from('ok'));
    expect((await readAll(await store.get(key))).toString()).toBe('ok');
  });

  it('replaces the blob when a key is written again', async () => {
    const { store } = harness();
    const key = `${prefix()}/doc`;
    await store.put(key, Buffer.from('first version'));
    await store.put(key, Readable.from([Buffer.from('second')]));
    expect((await readAll(await store.get(key))).toString()).toBe('second');
    expect(await store.head(key)).toMatchObject({ size: 6 });
  });

  it('answers null to head and not_found to get for a missing key', async () => {
    const { store } = harness();
    const key = `${prefix()}/missing`;
    expect(await store.head(key)).toBeNull();
    await expect(store.get(key)).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('deletes a blob, and deleting it again is fine', async () => {
    const { store } = harness();
    const key = `${prefix()}/gone`;
    await store.put(key, Buffer.from('bye'));

    await store.delete(key);
    await store.delete(key);

    expect(await store.head(key)).toBeNull();
    await expect(store.get(key)).rejects.toMatchObject({ kind: 'not_found' });
  });

  it.each(INVALID_KEYS)('rejects an invalid key (%s) on every operation', async (_, key) => {
    const { store } = harness();
    const invalid = { kind: 'invalid' };
    await expect(store.put(key, Buffer.from('x'))).rejects.toMatchObject(invalid);
    await expect(store.get(key)).rejects.toMatchObject(invalid);
    await expect(store.head(key)).rejects.toMatchObject(invalid);
    await expect(store.delete(key)).rejects.toMatchObject(invalid);
    await expect(store.presignGet(key)).rejects.toMatchObject(invalid);
  });

  it('leaves nothing behind when the source stream fails midway', async () => {
    const { store, leftovers } = harness();
    const dir = prefix();
    const key = `${dir}/deep/failed.bin`;
    const error = new Error('client went away');
    const body = generatedBody({ total: sizes.largeBytes, failAfter: { bytes: sizes.failAfterBytes, error } });

    await expect(store.put(key, body.stream)).rejects.toBe(error);

    expect(body.emitted).toBeGreaterThanOrEqual(sizes.failAfterBytes);
    expect(await leftovers(dir)).toEqual([]);
    expect(await store.head(key)).toBeNull();
  });

  it('leaves nothing behind when the put is aborted midway, and stops reading the source', async () => {
    const { store, leftovers } = harness();
    const dir = prefix();
    const key = `${dir}/deep/aborted.bin`;
    const controller = new AbortController();
    const body = generatedBody({
      onProgress: (emitted) => {
        if (emitted >= sizes.failAfterBytes && !controller.signal.aborted) setImmediate(() => controller.abort());
      },
    });

    await expect(store.put(key, body.stream, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });

    expect(body.stream.destroyed).toBe(true);
    expect(await leftovers(dir)).toEqual([]);
    expect(await store.head(key)).toBeNull();
  });

  it('rejects with the reason of an already aborted signal and writes nothing', async () => {
    const { store, leftovers } = harness();
    const dir = prefix();
    const reason = new Error('upload cancelled');
    const body = generatedBody({ total: 1024 });

    await expect(store.put(`${dir}/never`, body.stream, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);

    expect(await leftovers(dir)).toEqual([]);
  });

  it.each([
    ['shorter', 1000],
    ['longer', 3000],
  ])('refuses a streamed body %s than its declared length and keeps nothing', async (_, actual) => {
    const { store, leftovers } = harness();
    const dir = prefix();
    const body = generatedBody({ total: actual });

    await expect(store.put(`${dir}/sized`, body.stream, { contentLength: 2000 })).rejects.toMatchObject({
      kind: 'invalid',
      code: 'content_length_mismatch',
    });

    expect(await leftovers(dir)).toEqual([]);
  });

  it('answers a ping', async () => {
    await expect(harness().store.ping()).resolves.toBeUndefined();
  });
}
