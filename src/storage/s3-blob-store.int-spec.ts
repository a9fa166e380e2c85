import { createHash, randomBytes } from 'node:crypto';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { startS3rver, type S3rverHandle } from '../../test/support/s3rver.js';
import type { S3Settings } from '../config/app-config.js';
import { blobStoreContract, generatedBody } from './blob-store.contract.js';
import { S3BlobStore } from './s3-blob-store.js';

const MIB = 1024 * 1024;
const silent = pino({ level: 'silent' });

function settings(server: S3rverHandle, overrides: Partial<S3Settings> = {}): S3Settings {
  return {
    bucket: server.bucket,
    endpoint: server.endpoint,
    region: 'us-east-1',
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
    presignTtlSeconds: 60,
    multipartThresholdBytes: 5 * MIB,
    ...overrides,
  };
}

describe('S3BlobStore (against s3rver)', () => {
  let server: S3rverHandle;
  let store: S3BlobStore;
  // A plain client to look at the bucket independently of the store under test.
  let inspector: S3Client;

  beforeAll(async () => {
    server = await startS3rver({ bucket: 'colloquy-blobs' });
    store = new S3BlobStore(settings(server), silent);
    inspector = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
  });

  afterAll(async () => {
    inspector?.destroy();
    await store?.close();
    await server?.stop();
  });

  async function leftovers(prefix: string): Promise<string[]> {
    const objects = await inspector.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix }));
    const uploads = await inspector.send(new ListMultipartUploadsCommand({ Bucket: server.bucket, Prefix: prefix }));
    return [...(objects.Contents ?? []).map((o) => `object ${o.Key}`), ...(uploads.Uploads ?? []).map((u) => `incomplete upload ${u.Key}`)];
  }

  describe('contract', () => {
    // 12 MiB is three parts at the 5 MiB threshold; failing at 7 MiB happens after part one started.
    blobStoreContract(() => ({ store, leftovers }), { largeBytes: 12 * MIB, failAfterBytes: 7 * MIB });
  });

  it('sends a large stream as a multipart upload and a small buffer as one PutObject', async () => {
    const before = server.requests.length;
    const body = generatedBody({ total: 12 * MIB });

    await store.put('multipart/large.bin', body.stream);
    await store.put('multipart/small.txt', Buffer.from('small'));

    const sent = server.requests.slice(before);
    expect(sent.filter((r) => /^POST \/colloquy-blobs\/multipart\/large\.bin\?uploads/.test(r))).toHaveLength(1);
    expect(sent.filter((r) => /^PUT \/colloquy-blobs\/multipart\/large\.bin\?.*partNumber=/.test(r))).toHaveLength(3);
    expect(sent.filter((r) => r.startsWith('PUT /colloquy-blobs/multipart/small.txt'))).toEqual([expect.not.stringContaining('uploadId')]);
  });

  it('aborts the multipart upload it started when the source fails', async () => {
    const before = server.requests.length;
    const body = generatedBody({ total: 12 * MIB, failAfter: { bytes: 7 * MIB, error: new Error('reset') } });

    await expect(store.put('mpu-abort/blob', body.stream)).rejects.toThrow('reset');

    const sent = server.requests.slice(before);
    expect(sent.some((r) => r.startsWith('POST /colloquy-blobs/mpu-abort/blob?uploads'))).toBe(true);
    expect(sent.some((r) => /^DELETE \/colloquy-blobs\/mpu-abort\/blob\?uploadId=/.test(r))).toBe(true);
    expect(await leftovers('mpu-abort/')).toEqual([]);
  });

  it('leaves no object when an abort races a small PutObject, whichever finishes first', async () => {
    const controller = new AbortController();
    const putting = store.put('raced/small', randomBytes(1024), { signal: controller.signal });
    queueMicrotask(() => controller.abort());

    await expect(putting).rejects.toMatchObject({ name: 'AbortError' });
    expect(await store.head('raced/small')).toBeNull();
  });

  it('keeps the content type given at upload', async () => {
    await store.put('typed/pic.png', randomBytes(64), { contentType: 'image/png' });
    expect(await store.head('typed/pic.png')).toEqual({ size: 64, contentType: 'image/png' });
  });

  it('presigns a GET that plain fetch downloads byte for byte, as an attachment with the original name', async () => {
    const bytes = randomBytes(MIB + 17);
    await store.put('presigned/report', bytes);

    const url = await store.presignGet('presigned/report', {
      filename: 'résumé — "final".pdf',
      contentType: 'application/pdf',
      expiresInSeconds: 120,
    });
    const res = await fetch(url);

    expect(res.status).toBe(200);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('120');
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="r_sum_ _ _final_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%80%94%20%22final%22.pdf`,
    );
    const body = Buffer.from(await res.arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('refuses a presigned URL lifetime beyond seven days', async () => {
    await expect(store.presignGet('presigned/report', { expiresInSeconds: 8 * 24 * 3600 })).rejects.toMatchObject({
      kind: 'invalid',
    });
  });

  it('creates a missing bucket once, and ensuring it again is harmless', async () => {
    const other = new S3BlobStore(settings(server, { bucket: 'colloquy-fresh' }), silent);
    try {
      await expect(other.ping()).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringContaining('does not exist') });
      // A missing bucket is a storage fault, not a missing blob.
      await expect(other.get('x')).rejects.toMatchObject({ kind: 'unavailable' });
      await expect(other.delete('x')).rejects.toMatchObject({ kind: 'unavailable' });

      await other.ensureBucket();
      await other.ensureBucket();

      await expect(other.ping()).resolves.toBeUndefined();
      await other.put('x', Buffer.from('x'));
      expect(await other.head('x')).toMatchObject({ size: 1 });
    } finally {
      await other.close();
    }
  });

  it('reports the storage unavailable, without credentials, once the server is gone', async () => {
    const doomed = await startS3rver({ bucket: 'colloquy-doomed' });
    const secret = 'very-secret-value-123';
    const client = new S3BlobStore(settings(doomed, { secretAccessKey: secret }), silent);
    try {
      await expect(client.ping()).resolves.toBeUndefined();

      await doomed.stop();

      const ping = client.ping();
      await expect(ping).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringContaining('colloquy-doomed') });
      await expect(ping).rejects.not.toThrow(secret);
      await expect(ping).rejects.not.toThrow('S3RVER');
      await expect(client.get('any')).rejects.toMatchObject({ kind: 'unavailable' });
      await expect(client.put('any', Buffer.from('x'))).rejects.toMatchObject({ kind: 'unavailable' });
      const body = generatedBody({ total: 6 * MIB });
      await expect(client.put('any', body.stream)).rejects.toMatchObject({ kind: 'unavailable' });
      expect(body.stream.destroyed).toBe(true);
    } finally {
      await client.close();
      await doomed.stop();
    }
  });
});
