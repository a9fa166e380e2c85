import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DomainError } from '../common/errors/domain-error.js';
import type { AppLogger } from '../common/logging/logger.js';
import { BlobStore, type BlobHead, type PresignGetOptions, type PutBlobOptions, type PutBlobResult } from './blob-store.js';
import { DigestStream } from './digest-stream.js';

// A directory we created can be removed by a failed put next door between our mkdir and open.
const OPEN_ATTEMPTS = 3;

/**
 * Blobs as files under `<dataDir>/blobs/<key>`. Writes go to a temporary file beside the target
 * and are renamed into place, so readers see either the old blob or the whole new one.
 */
export class LocalBlobStore extends BlobStore {
  readonly driver = 'local' as const;
  readonly root: string;

  constructor(
    dataDir: string,
    private readonly logger: AppLogger,
  ) {
    super();
    this.root = join(dataDir, 'blobs');
  }

  async put(key: string, body: Readable | Buffer, options: PutBlobOptions = {}): Promise<PutBlobResult> {
    const target = this.pathOf(key);
    const { signal } = options;
    if (signal?.aborted) {
      if (!Buffer.isBuffer(body)) body.destroy();
      throw signal.reason;
    }
    const digest = DigestStream.of(body, options.contentLength);
    const dir = dirname(target);
    const temp = join(dir, `.${randomBytes(8).toString('hex')}.partial`);
    let created: string | undefined;
    let file: FileHandle | undefined;
    let storageError: unknown;
    try {
      try {
        ({ created, file } = await this.openTemp(dir, temp));
      } catch (err) {
        storageError = err;
        throw err;
      }
      const sink = file.createWriteStream();
      // A body failure reaches the sink too, after the digest stream; only a sink-first error is the disk's.
      sink.once('error', (err) => {
        if (digest.failure === undefined) storageError ??= err;
      });
      await pipeline(digest, sink, { signal });
      // An abort that lands after the last byte still means the caller gave up on this blob.
      signal?.throwIfAborted();
      try {
        await rename(temp, target);
      } catch (err) {
        storageError = err;
        throw err;
      }
      return { size: digest.byteCount, sha256: digest.sha256 };
    } catch (err) {
      digest.destroy();
      await file?.close().catch(() => undefined);
      await rm(temp, { force: true }).catch((e) => this.logger.warn({ err: code(e) }, 'could not remove a partial blob file'));
      if (created) await this.pruneEmptyDirs(dir, created);
      if (signal?.aborted) throw signal.reason;
      if (storageError !== undefined) throw fsError(storageError);
      throw digest.failure ?? err;
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    let file: FileHandle;
    try {
      file = await open(path, 'r');
    } catch (err) {
      if (isMissing(err)) throw notFound(key);
      throw fsError(err);
    }
    // Opening a directory succeeds on Linux; a directory is not a blob.
    if (!(await file.stat()).isFile()) {
      await file.close();
      throw notFound(key);
    }
    return file.createReadStream();
  }

  async head(key: string): Promise<BlobHead | null> {
    const path = this.pathOf(key);
    try {
      const info = await stat(path);
      return info.isFile() ? { size: info.size, contentType: null } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw fsError(err);
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      // EISDIR: the key names a directory of other blobs, so there is no blob to delete.
      if (isMissing(err) || code(err) === 'EISDIR') return;
      throw fsError(err);
    }
  }

  async presignGet(key: string, _options?: PresignGetOptions): Promise<null> {
    BlobStore.assertValidKey(key);
    return null;
  }

  async ping(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new DomainError('unavailable', `local blob storage is not usable (${code(err) ?? 'error'})`, { cause: err });
    }
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    BlobStore.assertValidKey(key);
    return join(this.root, ...key.split('/'));
  }

  /** Creates the target's directories and the temp file; returns the first directory it created. */
  private async openTemp(dir: string, temp: string): Promise<{ created: string | undefined; file: FileHandle }> {
    let created: string | undefined;
    for (let attempt = 1; ; attempt++) {
      created ??= await mkdir(dir, { recursive: true });
      try {
        return { created, file: await open(temp, 'wx') };
      } catch (err) {
        if (code(err) !== 'ENOENT' || attempt >= OPEN_ATTEMPTS) throw err;
      }
    }
  }

  /** Removes the directories a failed put created, deepest first, stopping at the first one in use. */
  private async pruneEmptyDirs(dir: string, created: string): Promise<void> {
    const depth = relative(created, dir).split(sep).filter(Boolean).length;
    let current = dir;
    for (let i = 0; i <= depth; i++) {
      try {
        await rmdir(current);
      } catch {
        return;
      }
      current = dirname(current);
    }
  }
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function isMissing(err: unknown): boolean {
  return code(err) === 'ENOENT' || code(err) === 'ENOTDIR';
}

function notFound(key: string): DomainError {
  return new DomainError('not_found', `blob ${key} not found`);
}

/** File-system errors in the product's terms, without paths (they reveal the install layout). */
function fsError(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  const c = code(err);
  switch (c) {
    case 'EEXIST':
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ENOTEMPTY':
      return new DomainError('conflict', 'blob key collides with an existing blob path', { cause: err });
    case 'ENAMETOOLONG':
      return new DomainError('invalid', 'blob key is too long for the file system', { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
    case 'EIO':
    case 'EMFILE':
    case 'ENFILE':
      return new DomainError('unavailable', `local blob storage is unavailable (${c})`, { cause: err });
    default:
      return new DomainError('internal', `local blob storage failed (${c ?? 'error'})`, { cause: err });
  }
}
