import { createHash } from 'node:crypto';
import { addAbortSignal, type Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { DomainError } from '../common/errors/domain-error.js';
import type { AppLogger } from '../common/logging/logger.js';
import type { S3Settings } from '../config/app-config.js';
import { BlobStore, type BlobHead, type PresignGetOptions, type PutBlobOptions, type PutBlobResult } from './blob-store.js';
import { DigestStream } from './digest-stream.js';

const MIB = 1024 * 1024;
// S3 refuses multipart parts under 5 MiB (except the last).
const MIN_PART_BYTES = 5 * MIB;
// Parts in flight per upload; memory per upload is about this many parts.
const UPLOAD_QUEUE_SIZE = 4;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EPROTO',
]);
const NETWORK_CODE_IN_TEXT = new RegExp(`\\b(${[...NETWORK_CODES].join('|')})\\b`);
const REFUSED_NAMES = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
]);

interface SdkError {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Blobs as objects in one S3 bucket (AWS, MinIO, R2, s3rver...). Streams go through lib-storage's
 * Upload, which switches to multipart above one part; small buffers are a single PutObject.
 */
export class S3BlobStore extends BlobStore {
  readonly driver = 's3' as const;
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly multipartThreshold: number;
  private readonly presignTtl: number;

  constructor(
    settings: S3Settings,
    private readonly logger: AppLogger,
  ) {
    super();
    this.bucket = settings.bucket;
    this.multipartThreshold = settings.multipartThresholdBytes;
    this.partSize = Math.max(MIN_PART_BYTES, settings.multipartThresholdBytes);
    this.presignTtl = settings.presignTtlSeconds;
    const credentials =
      settings.accessKeyId && settings.secretAccessKey ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } : undefined; // the SDK's default chain (env, profile, instance role)
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint ?? undefined,
      forcePathStyle: settings.forcePathStyle,
      credentials,
      // Otherwise the SDK sends streamed bodies aws-chunked with trailing checksums, which
      // S3-compatible servers (s3rver, older MinIO) store verbatim; AWS does not need them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // An unreachable endpoint should fail a request in seconds, not hang it.
      requestHandler: { connectionTimeout: 5_000, socketTimeout: 60_000 },
    });
  }

  async put(key: string, body: Readable | Buffer, options: PutBlobOptions = {}): Promise<PutBlobResult> {
    BlobStore.assertValidKey(key);
    const { signal } = options;
    if (signal?.aborted) {
      if (!Buffer.isBuffer(body)) body.destroy();
      throw signal.reason;
    }
    return Buffer.isBuffer(body) && body.length < this.multipartThreshold ? this.putBuffer(key, body, options) : this.putStream(key, body, options);
  }

  async get(key: string): Promise<Readable> {
    BlobStore.assertValidKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      // In Node the body is the IncomingMessage, a Readable.
      return out.Body as Readable;
    } catch (err) {
      if (isMissing(err)) throw new DomainError('not_found', `blob ${key} not found`);
      throw this.storageError(err);
    }
  }

  async head(key: string): Promise<BlobHead | null> {
    BlobStore.assertValidKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, contentType: out.ContentType ?? null };
    } catch (err) {
      if (isMissing(err)) return null;
      throw this.storageError(err);
    }
  }

  async delete(key: string): Promise<void> {
    BlobStore.assertValidKey(key);
    try {
      // S3 answers 204 whether or not the object existed.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isMissing(err)) return;
      throw this.storageError(err);
    }
  }

  async presignGet(key: string, options: PresignGetOptions = {}): Promise<string> {
    BlobStore.assertValidKey(key);
    const expiresIn = options.expiresInSeconds ?? this.presignTtl;
    if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_SECONDS) {
      throw new DomainError('invalid', `presigned URL lifetime must be 1..${MAX_PRESIGN_SECONDS} seconds`);
    }
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: options.filename === undefined ? undefined : attachment(options.filename),
      ResponseContentType: options.contentType,
    });
    return getSignedUrl(this.client, command, { expiresIn });
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      throw this.storageError(err);
    }
  }

  /** Creates the bucket unless it exists (tests, first start against a fresh MinIO). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (!isMissing(err)) throw this.storageError(err);
    }
    const region = await this.client.config.region();
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          // us-east-1 is the one region that refuses an explicit location constraint.
          CreateBucketConfiguration: region && region !== 'us-east-1' ? { LocationConstraint: region as never } : undefined,
        }),
      );
    } catch (err) {
      if ((err as SdkError).name === 'BucketAlreadyOwnedByYou') return;
      throw this.storageError(err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async putBuffer(key: string, body: Buffer, options: PutBlobOptions): Promise<PutBlobResult> {
    const { signal } = options;
    if (options.contentLength !== undefined && options.contentLength !== body.length) {
      throw new DomainError('invalid', `body has ${body.length} bytes but ${options.contentLength} were declared`, {
        code: 'content_length_mismatch',
      });
    }
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: options.contentType,
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      // The request may have reached S3 before the abort; make sure no object stays behind.
      if (signal?.aborted) {
        await this.removeQuietly(key);
        throw signal.reason;
      }
      throw this.storageError(err);
    }
    if (signal?.aborted) {
      await this.removeQuietly(key);
      throw signal.reason;
    }
    return { size: body.length, sha256: createHash('sha256').update(body).digest('hex') };
  }

  private async putStream(key: string, body: Readable | Buffer, options: PutBlobOptions): Promise<PutBlobResult> {
    const { signal } = options;
    const digest = DigestStream.of(body, options.contentLength);
    // Aborting destroys the body, so Upload stops reading, waits for parts in flight and then
    // aborts the multipart upload itself before done() rejects: no parts are left behind.
    // (Upload's own abort() rejects at once while that cleanup still runs in the background.)
    if (signal) addAbortSignal(signal, digest);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: digest, ContentType: options.contentType },
      partSize: this.partSize,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      // Decide before destroying anything, which would record errors of its own.
      const bodyFailure = digest.failure;
      digest.destroy();
      if (bodyFailure !== undefined && err !== bodyFailure) {
        // The body failed, then AbortMultipartUpload did too: parts remain until a lifecycle rule expires them.
        this.logger.warn({ err: describe(err), bucket: this.bucket }, 'could not abort an S3 multipart upload');
      }
      if (signal?.aborted) throw signal.reason;
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the body's own failure, passed on as it came
      if (bodyFailure !== undefined) throw bodyFailure;
      throw this.storageError(err);
    }
    // An abort after the last byte was read still means the caller gave up on this blob.
    if (signal?.aborted) {
      await this.removeQuietly(key);
      throw signal.reason;
    }
    return { size: digest.byteCount, sha256: digest.sha256 };
  }

  private async removeQuietly(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      this.logger.warn({ err: describe(err), bucket: this.bucket }, 'could not remove an aborted S3 upload');
    }
  }

  /** SDK and network errors in the product's terms; names the bucket, never the endpoint or credentials. */
  private storageError(err: unknown): DomainError {
    if (err instanceof DomainError) return err;
    const e = (err ?? {}) as SdkError;
    const status = e.$metadata?.httpStatusCode;
    const what = describe(err);
    const where = `S3 bucket ${this.bucket}`;
    if (e.name === 'NoSuchBucket' || (e.name === 'NotFound' && status === 404)) {
      return new DomainError('unavailable', `${where} does not exist`, { cause: err });
    }
    if (REFUSED_NAMES.has(e.name ?? '') || status === 401 || status === 403) {
      return new DomainError('unavailable', `${where} refused access (${what})`, { cause: err });
    }
    if ((status !== undefined && status >= 500) || e.name === 'SlowDown') {
      return new DomainError('unavailable', `${where} is unavailable (${what})`, { cause: err });
    }
    // No HTTP answer at all: refused, reset, timed out, name not resolved.
    if (status === undefined) {
      return new DomainError('unavailable', `${where} is unreachable (${what})`, { cause: err });
    }
    return new DomainError('internal', `${where} request failed (${what})`, { cause: err });
  }
}

/** The object is missing (a missing bucket is a storage fault instead; HEAD answers cannot tell them apart). */
function isMissing(err: unknown): boolean {
  const e = err as SdkError | null;
  if (e?.name === 'NoSuchBucket') return false;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** The error's code or name and status; SDK messages can quote hosts and request details. */
function describe(err: unknown): string {
  const e = (err ?? {}) as SdkError;
  const name = networkCode(e) ?? e.code ?? (e.name && e.name !== 'Error' ? e.name : 'error');
  const status = e.$metadata?.httpStatusCode;
  return status ? `${name}, HTTP ${status}` : name;
}

function networkCode(e: SdkError & { message?: string }): string | undefined {
  if (e.code && NETWORK_CODES.has(e.code)) return e.code;
  // The SDK rewraps errors that fail `instanceof Error` (another realm, as under jest) as
  // "AWS SDK error wrapper for Error: connect ECONNREFUSED ...", dropping `code`.
  return typeof e.message === 'string' ? e.message.match(NETWORK_CODE_IN_TEXT)?.[0] : undefined;
}

/**
 * `attachment` with an ASCII fallback and the exact name in RFC 5987 form (`filename*`), which
 * every current browser prefers, so non-ASCII names survive.
 */
function attachment(filename: string): string {
  const wellFormed = filename.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  const fallback = wellFormed.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(wellFormed).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
