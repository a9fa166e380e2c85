import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error s3rver ships no type declarations; the surface used here is typed below.
import S3rverModule from 's3rver';

/** A running s3rver: a real S3-compatible HTTP server on 127.0.0.1, backed by a temp directory. */
export interface S3rverHandle {
  endpoint: string;
  bucket: string;
  accessKeyId: 'S3RVER';
  secretAccessKey: 'S3RVER';
  /** Where s3rver keeps the buckets on disk. */
  directory: string;
  /** `METHOD /path?query` of every request received, oldest first (to check how a client talked to it). */
  requests: string[];
  /** Stops the server (dropping kept-alive connections) and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

export interface S3rverOptions {
  bucket?: string;
}

interface KoaContext {
  method: string;
  path: string;
  url: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;

interface S3rverInstance {
  middleware: KoaMiddleware[];
  httpServer?: Server;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

const S3rver = S3rverModule as S3rverClass;

/**
 * Starts s3rver on a free port with `bucket` created and its logging silenced.
 *
 * s3rver 3.7 implements neither AbortMultipartUpload (it answers 405) nor ListMultipartUploads
 * (501). Both are added here over its on-disk layout, so clients' cleanup of failed uploads runs
 * against the real S3 API and tests can check that no incomplete upload is left.
 */
export async function startS3rver(options: S3rverOptions = {}): Promise<S3rverHandle> {
  const bucket = options.bucket ?? 'colloquy-test';
  const directory = await mkdtemp(join(tmpdir(), 'colloquy-s3rver-'));
  const requests: string[] = [];
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  server.middleware.unshift(async (ctx, next) => {
    requests.push(`${ctx.method} ${ctx.url}`);
    await next();
  }, multipartUploadsShim(directory));
  const address = await server.run();
  let stopped: Promise<void> | null = null;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory,
    requests,
    stop: () =>
      (stopped ??= (async () => {
        const closed = server.close();
        server.httpServer?.closeAllConnections();
        await closed;
        await rm(directory, { recursive: true, force: true });
      })()),
  };
}

const UPLOAD_ID = /^[0-9a-f]+$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]*$/;

function multipartUploadsShim(directory: string): KoaMiddleware {
  const uploadsDir = (bucket: string): string => join(directory, bucket, '._S3rver_uploads');

  return async (ctx, next) => {
    const [bucket = '', ...keyParts] = ctx.path.replace(/^\//, '').split('/');
    if (!BUCKET_NAME.test(bucket)) return next();
    const key = keyParts.map(decodeURIComponent).join('/');

    if (ctx.method === 'DELETE' && key && typeof ctx.query.uploadId === 'string') {
      const uploadId = ctx.query.uploadId;
      const dir = join(uploadsDir(bucket), uploadId);
      if (!UPLOAD_ID.test(uploadId) || !(await exists(dir))) {
        return s3Error(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
      }
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }

    if (ctx.method === 'GET' && !key && 'uploads' in ctx.query) {
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
      const ids = (await exists(uploadsDir(bucket))) ? await readdir(uploadsDir(bucket)) : [];
      const uploads: string[] = [];
      for (const id of ids.sort()) {
        const uploadKey = await readFile(join(uploadsDir(bucket), id, 'key'), 'utf8').catch(() => null);
        if (uploadKey === null || !uploadKey.startsWith(prefix)) continue;
        const initiated = (await stat(join(uploadsDir(bucket), id))).birthtime.toISOString();
        uploads.push(`<Upload><Key>${xml(uploadKey)}</Key><UploadId>${id}</UploadId><Initiated>${initiated}</Initiated></Upload>`);
      }
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Bucket>${xml(bucket)}</Bucket><Prefix>${xml(prefix)}</Prefix><MaxUploads>1000</MaxUploads>` +
        `<IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`;
      return;
    }

    return next();
  };
}

function s3Error(ctx: KoaContext, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xml(message)}</Message></Error>`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
