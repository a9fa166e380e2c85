import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { canRead } from '../../common/http/ownership.js';
import { toPage, type ListPage } from '../../common/http/pagination.js';
import { unixSeconds } from '../../common/ids.js';
import { BlobStore } from '../../storage/blob-store.js';
import { TokenCounter } from '../../llm/token-counter.js';
import { trimToTokenBudget } from './documents/token-budget.js';
import { FileIngestor } from './file-ingestor.service.js';
import { FilesRepository, type FileMeta } from './files.repository.js';
import { FILE_PURPOSES, type FileView, type ListFilesQuery, type OpenAIFileView } from './files.schemas.js';
import type { FormPart } from '../../common/http/multipart.js';
import { readMultipartForm } from './multipart-form.js';

/** What read_file gives a model. */
export interface FileText {
  file_id: string;
  filename: string;
  pages: number | null;
  /** Tokens of the whole text. */
  tokens: number;
  truncated: boolean;
  text: string;
}

export interface FileDownload {
  /** A short-lived URL to redirect to (S3), or null to stream `body`. */
  redirect: string | null;
  body: Readable | null;
  file: FileView;
}

@Injectable()
export class FilesService {
  constructor(
    private readonly repo: FilesRepository,
    private readonly ingestor: FileIngestor,
    private readonly blobs: BlobStore,
    private readonly tokens: TokenCounter,
  ) {}

  /**
   * POST /files/upload and POST /v1/files: every part named `file` or `files` is stored; an
   * optional `purpose` field (wherever it sits in the form) applies to all of them. All or
   * nothing: if one file is refused, none is kept.
   */
  async upload(caller: Caller, parts: AsyncIterable<FormPart>, options: { requirePurpose?: boolean; single?: boolean } = {}): Promise<FileView[]> {
    const form = await readMultipartForm(parts, {
      fileFields: options.single ? ['file'] : ['file', 'files'],
      ingest: (file) => this.ingestor.ingest(caller.userId, file, 'user_data'),
      discard: (file) => this.ingestor.discard(file),
    });
    try {
      if (!form.files.length) throw new DomainError('invalid', "No file in the form: send it as a part named 'file'.", { param: 'file' });
      if (options.single && form.files.length > 1) throw new DomainError('invalid', "Send one part named 'file'.", { param: 'file' });
      const purpose = form.fields.purpose;
      if (purpose === undefined && options.requirePurpose) throw new DomainError('invalid', "Missing 'purpose'.", { param: 'purpose' });
      if (purpose !== undefined) {
        if (typeof purpose !== 'string' || !(FILE_PURPOSES as readonly string[]).includes(purpose)) {
          throw new DomainError('invalid', `Invalid 'purpose': expected one of ${FILE_PURPOSES.join(', ')}.`, { param: 'purpose' });
        }
        await this.repo.setPurpose(
          form.files.map((f) => f.id),
          purpose,
        );
        for (const file of form.files) file.purpose = purpose;
      }
    } catch (err) {
      for (const file of form.files) await this.ingestor.discard(file);
      throw err;
    }
    return form.files.map(toFileView);
  }

  async list(caller: Caller, query: ListFilesQuery): Promise<ListPage<FileView>> {
    const rows = await this.repo.list(caller.userId, query, { purpose: query.purpose, conversationId: query.conversation_id });
    return toPage(rows, query, toFileView);
  }

  async get(caller: Caller, id: string): Promise<FileView> {
    return toFileView(await this.readable(caller, id));
  }

  /** Removes the blob and the row; the file answers 404 afterwards. */
  async remove(caller: Caller, id: string): Promise<{ id: string; object: 'file'; deleted: true }> {
    const file = await this.repo.findMeta(id);
    if (!file || file.userId !== caller.userId) throw notFound(id);
    await this.repo.delete(id);
    await this.blobs.delete(file.storageKey);
    return { id, object: 'file', deleted: true };
  }

  /** The bytes, or (on S3, unless `stream`) a short-lived presigned URL to them. */
  async content(caller: Caller, id: string, stream: boolean): Promise<FileDownload> {
    const meta = await this.readable(caller, id);
    const file = toFileView(meta);
    if (!stream) {
      const url = await this.blobs.presignGet(meta.storageKey, { filename: meta.filename, contentType: meta.mimeType });
      if (url) return { redirect: url, body: null, file };
    }
    return { redirect: null, body: await this.blobs.get(meta.storageKey), file };
  }

  /**
   * The extracted text of one of the caller's own files, cut to `maxTokens` (the read_file tool).
   * Images and files without text are 400 invalid_tool_arguments, as they cannot be read as text.
   */
  async textOf(caller: Caller, id: string, maxTokens: number): Promise<FileText> {
    const [file] = await this.repo.findOwnedWithText(caller.userId, [id]);
    if (!file) throw new DomainError('not_found', `No file with id ${id}.`, { param: 'arguments.file_id', code: 'file_not_found' });
    if (file.kind === 'image' || file.text === null) {
      throw new DomainError('invalid', `The file ${file.filename} has no text to read.`, {
        param: 'arguments.file_id',
        code: 'invalid_tool_arguments',
      });
    }
    const trimmed = await trimToTokenBudget(file.text, maxTokens, (s) => this.tokens.countText(s), file.textTokens ?? undefined);
    return {
      file_id: file.id,
      filename: file.filename,
      pages: file.pages,
      tokens: trimmed.totalTokens,
      truncated: trimmed.truncated,
      text: trimmed.truncated ? `${trimmed.text}\n[truncated: ${trimmed.keptTokens} of ${trimmed.totalTokens} tokens]` : trimmed.text,
    };
  }

  /** Files attached to a conversation's messages. */
  async forConversation(conversationId: string): Promise<FileView[]> {
    return (await this.repo.forConversation(conversationId)).map(toFileView);
  }

  private async readable(caller: Caller, id: string): Promise<FileMeta> {
    const file = await this.repo.findMeta(id);
    if (!file || !canRead(caller, file.userId)) throw notFound(id);
    return file;
  }
}

function notFound(id: string): DomainError {
  return new DomainError('not_found', `No file with id ${id}.`);
}

export function toFileView(row: FileMeta): FileView {
  return {
    id: row.id,
    object: 'file',
    filename: row.filename,
    bytes: Number(row.bytes),
    created_at: unixSeconds(row.createdAt)!,
    purpose: row.purpose,
    status: row.status as FileView['status'],
    mime_type: row.mimeType,
    kind: row.kind as FileView['kind'],
    sha256: row.sha256,
    pages: row.pages,
    tokens: row.textTokens,
  };
}

/** OpenAI's file object, exactly its fields. */
export function toOpenAIFile(view: FileView): OpenAIFileView {
  return {
    id: view.id,
    object: 'file',
    bytes: view.bytes,
    created_at: view.created_at,
    filename: view.filename,
    purpose: (FILE_PURPOSES as readonly string[]).includes(view.purpose) ? view.purpose : 'user_data',
    status: view.status,
  };
}
