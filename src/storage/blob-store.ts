import type { Readable } from 'node:stream';
import { DomainError } from '../common/errors/domain-error.js';

export type BlobDriver = 'local' | 's3';

export interface PutBlobOptions {
  contentType?: string;
  /** The declared length; a body of any other length is refused and nothing is kept. */
  contentLength?: number;
  /** Aborting it stops the write and removes whatever was written; put() rejects with its reason. */
  signal?: AbortSignal;
}

export interface PutBlobResult {
  size: number;
  /** Hex SHA-256 of the bytes stored, computed while they streamed through. */
  sha256: string;
}

export interface BlobHead {
  size: number;
  /** Null where the driver keeps no content type (local disk). */
  contentType: string | null;
}

export interface PresignGetOptions {
  expiresInSeconds?: number;
  /** Sent back as an attachment filename (RFC 6266 / RFC 5987, so any script works). */
  filename?: string;
  contentType?: string;
}

const MAX_KEY_CHARS = 512;
// S3's own limit on a key, in UTF-8 bytes.
const MAX_KEY_BYTES = 1024;
// NAME_MAX of common file systems; the local driver makes each segment a file or directory name.
const MAX_SEGMENT_BYTES = 255;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/**
 * Where file bytes live: a directory on local disk or an S3 bucket, picked from config by
 * StorageModule. Keys are opaque relative paths chosen by the server, never by users.
 */
export abstract class BlobStore {
  abstract readonly driver: BlobDriver;

  /** Streams the body in (never buffering it whole); on any failure or abort nothing is left behind. */
  abstract put(key: string, body: Readable | Buffer, options?: PutBlobOptions): Promise<PutBlobResult>;

  /** Streams the blob out; DomainError('not_found') when it does not exist. */
  abstract get(key: string): Promise<Readable>;

  abstract head(key: string): Promise<BlobHead | null>;

  /** Idempotent: deleting a missing blob succeeds. */
  abstract delete(key: string): Promise<void>;

  /** A short-lived URL the client can download from directly; null when the driver cannot (stream instead). */
  abstract presignGet(key: string, options?: PresignGetOptions): Promise<string | null>;

  /** A cheap readiness check; throws when the storage cannot be used. */
  abstract ping(): Promise<void>;

  abstract close(): Promise<void>;

  /**
   * The one definition of a valid key: relative, `/`-separated, no empty, `.` or `..` segments,
   * no backslash or control characters (NUL included), at most 512 characters.
   */
  static assertValidKey(key: string): void {
    const reason = keyProblem(key);
    if (reason) throw new DomainError('invalid', `invalid blob key: ${reason}`, { code: 'invalid_blob_key' });
  }
}

function keyProblem(key: unknown): string | null {
  if (typeof key !== 'string' || key.length === 0) return 'empty';
  if (key.length > MAX_KEY_CHARS || Buffer.byteLength(key) > MAX_KEY_BYTES) return `longer than ${MAX_KEY_CHARS} characters`;
  if (key.startsWith('/')) return 'must be relative';
  if (key.includes('\\')) return 'contains a backslash';
  if (CONTROL_CHARS.test(key)) return 'contains a control character';
  for (const segment of key.split('/')) {
    if (segment === '') return 'contains an empty segment';
    if (segment === '.' || segment === '..') return 'contains a relative segment';
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return `has a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return null;
}
