import { Transform, type TransformCallback } from 'node:stream';
import { fileTooLarge } from './file-too-large.js';

const HEAD_BYTES = 64 * 1024;
const IMAGE_SIGNATURES: Buffer[] = [
  Buffer.from([0x89, 0x50, 0x4e, 0x47]), // PNG
  Buffer.from([0xff, 0xd8, 0xff]), // JPEG
  Buffer.from('GIF8'),
];

/**
 * Sits between an upload and the blob store: counts bytes (refusing past the limit, which
 * aborts the store), and keeps what detection and extraction need. An image is recognised from
 * its first bytes and only its head is kept; anything else may be a document whose text is
 * wanted, so its bytes are kept (bounded by the per-file limit).
 */
export class CaptureStream extends Transform {
  private readonly chunks: Buffer[] = [];
  private captured = 0;
  private keepAll: boolean | null = null;
  bytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(fileTooLarge(this.maxBytes));
      return;
    }
    if (this.keepAll === null && this.captured + chunk.length >= 16) {
      const head = Buffer.concat([...this.chunks, chunk]);
      this.keepAll = !isImage(head);
    }
    if (this.keepAll !== false || this.captured < HEAD_BYTES) {
      this.chunks.push(chunk);
      this.captured += chunk.length;
    }
    done(null, chunk);
  }

  /** The whole content, or at least its head for an image. */
  content(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get complete(): boolean {
    return this.captured === this.bytes;
  }
}

function isImage(head: Buffer): boolean {
  if (IMAGE_SIGNATURES.some((sig) => head.subarray(0, sig.length).equals(sig))) return true;
  return head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP';
}
