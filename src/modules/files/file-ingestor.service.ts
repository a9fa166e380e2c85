import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { AppConfig } from '../../config/app-config.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import { uuidv7 } from '../../common/ids.js';
import { TokenCounter } from '../../llm/token-counter.js';
import { BlobStore } from '../../storage/blob-store.js';
import { CaptureStream } from './capture-stream.js';
import { detectType } from './documents/content-type.js';
import { fileTooLarge } from './file-too-large.js';
import { TextExtractor } from './documents/text-extractor.js';
import { FilesRepository, type FileMeta } from './files.repository.js';

export interface IncomingFile {
  filename: string;
  stream: Readable;
  /** Set by the multipart parser when the part hit the per-file size limit. */
  truncated?: () => boolean;
}

/**
 * Takes uploads in: streams each to the blob store while counting and capturing it, detects its
 * type from the bytes, extracts a document's text off the main thread, and records the row. Any
 * failure on the way removes what was already written: no blob without a row, no row without
 * a blob.
 */
@Injectable()
export class FileIngestor {
  constructor(
    private readonly blobs: BlobStore,
    private readonly repo: FilesRepository,
    private readonly extractor: TextExtractor,
    private readonly tokens: TokenCounter,
    private readonly config: AppConfig,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  async ingest(userId: string, file: IncomingFile, purpose: string): Promise<FileMeta> {
    const id = uuidv7();
    const key = `files/${userId}/${id}`;
    const capture = new CaptureStream(this.config.limits.maxFileBytes);
    const body = new PassThrough();
    let stored = false;
    try {
      const [put] = await Promise.all([this.blobs.put(key, body), pipeline(file.stream, capture, body)]);
      stored = true;
      if (file.truncated?.()) throw fileTooLarge(this.config.limits.maxFileBytes);
      const content = capture.content();
      const type = detectType(content, file.filename);
      let text: string | null = null;
      let pages: number | null = null;
      if (type.kind !== 'image') {
        const { maxUnzippedBytes, maxPdfPages } = this.config.limits;
        const extracted = await this.extractor.extract(userId, content, type, { maxUnzippedBytes, maxPdfPages });
        text = extracted.text;
        pages = extracted.pages;
      }
      const textTokens = text === null ? null : await this.tokens.countText(text);
      return await this.repo.create({
        id,
        userId,
        filename: cleanName(file.filename, type.extension),
        mimeType: type.mime,
        kind: type.kind,
        bytes: BigInt(put.size),
        sha256: put.sha256,
        storageKey: key,
        purpose,
        pages,
        text,
        textTokens,
        status: 'processed',
      });
    } catch (err) {
      // The upload stream may still be open (an early refusal): drain it so the request can end.
      file.stream.resume();
      if (stored) await this.discardBlob(key);
      throw err;
    }
  }

  /** Removes a stored file: its row, then its blob (a missing blob is fine). */
  async discard(file: Pick<FileMeta, 'id' | 'storageKey'>): Promise<void> {
    await this.repo.delete(file.id).catch(() => undefined);
    await this.discardBlob(file.storageKey);
  }

  private async discardBlob(key: string): Promise<void> {
    try {
      await this.blobs.delete(key);
    } catch (err) {
      this.logger.error({ key, err: (err as Error).message }, 'could not remove the blob of a failed upload');
    }
  }
}

/** A display name: the client's, without any path, control characters, or an empty result. */
function cleanName(name: string, extension: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = base
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, 255);
  return clean || `upload.${extension}`;
}
