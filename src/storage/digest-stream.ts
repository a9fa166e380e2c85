import { createHash, type Hash } from 'node:crypto';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { DomainError } from '../common/errors/domain-error.js';

/**
 * Passes a blob body through while measuring and hashing it, so drivers never hold a whole
 * body to learn its size or digest. It also enforces a declared length, and remembers the
 * first error that came from the body side (the source, or a length mismatch) so drivers can
 * tell a bad body apart from a storage failure.
 */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private hex: string | null = null;
  private firstError: unknown = undefined;

  private constructor(private readonly expectedLength: number | undefined) {
    super();
    this.once('error', (err) => (this.firstError ??= err));
  }

  /** Pipes the body into a new DigestStream; a source error destroys both and surfaces here. */
  static of(body: Readable | Buffer, expectedLength?: number): DigestStream {
    if (expectedLength !== undefined && !(Number.isSafeInteger(expectedLength) && expectedLength >= 0)) {
      throw new DomainError('invalid', 'content length must be a non-negative integer');
    }
    const digest = new DigestStream(expectedLength);
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    // Errors reach the consumer through the digest stream itself; nothing to do when it settles.
    pipeline(source, digest, () => undefined);
    return digest;
  }

  // Not `size` or `length`: lib-storage's Upload reads those from a body as its total length.
  get byteCount(): number {
    return this.bytes;
  }

  /** Hex SHA-256 of everything that passed; only meaningful once the stream has ended. */
  get sha256(): string {
    this.hex ??= this.hash.digest('hex');
    return this.hex;
  }

  /** The first error this stream emitted (a source failure, a length mismatch, an abort), if any. */
  get failure(): unknown {
    return this.firstError;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedLength !== undefined && this.bytes > this.expectedLength) {
      callback(this.lengthMismatch());
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.expectedLength !== undefined && this.bytes !== this.expectedLength ? this.lengthMismatch() : null);
  }

  private lengthMismatch(): DomainError {
    const actual = this.bytes > this.expectedLength! ? `more than ${this.expectedLength}` : String(this.bytes);
    return new DomainError('invalid', `body has ${actual} bytes but ${this.expectedLength} were declared`, {
      code: 'content_length_mismatch',
    });
  }
}
