import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import type { ChatMessage, ContentPart, FilePart, ImagePart } from '../../llm/chat-types.js';
import { base64Bytes } from '../../llm/part-bounds.js';
import type { ResolvedModel } from '../../llm/model-catalog.js';
import { TokenCounter } from '../../llm/token-counter.js';
import { BlobStore } from '../../storage/blob-store.js';
import { detectType } from './documents/content-type.js';
import { TextExtractor } from './documents/text-extractor.js';
import { formatDocumentPart, trimToTokenBudget } from './documents/token-budget.js';
import { fileTooLarge } from './file-too-large.js';
import { FilesRepository, type FileRow } from './files.repository.js';

export interface ExpandedPrompt {
  messages: ChatMessage[];
  /**
   * Per message: the most its inline documents (file parts with file_data, passed to the upstream
   * as they are) may cost, which the token counter cannot see in the message itself.
   */
  extraTokens: number[];
}

/** Framing the document header and truncation note add around the text (`[file: …]`). */
const DOCUMENT_HEADER_TOKENS = 20;

/**
 * Turns file references into what a model reads. A document becomes a text part headed
 * `[file: <name>, <N> pages]`, trimmed to the per-file and per-request token budgets (newest
 * messages served first); an image becomes an image part (a base64 data URL, or a presigned URL
 * where configured) after a `[image: <name>]` label. Images a client inlines as data URLs are
 * checked the same way uploads are: size, and a type detected from the bytes.
 */
@Injectable()
export class AttachmentResolver {
  constructor(
    private readonly repo: FilesRepository,
    private readonly blobs: BlobStore,
    private readonly tokens: TokenCounter,
    private readonly config: AppConfig,
    private readonly extractor: TextExtractor,
  ) {}

  /**
   * `historyCount`: how many leading messages come from a stored conversation. A file they refer
   * to that has since been deleted reads as a short note instead of failing the turn; in the new
   * messages it is a 404.
   */
  async expand(caller: Caller, messages: ChatMessage[], model: ResolvedModel, historyCount = 0): Promise<ExpandedPrompt> {
    const extraTokens = messages.map(() => 0);
    const ids = new Set<string>();
    let hasInline = false;
    for (const message of messages) {
      if (!Array.isArray(message.content)) continue;
      for (const part of message.content) {
        if (part.type === 'file' && part.file.file_id) ids.add(part.file.file_id);
        if (part.type === 'file' && part.file.file_data) hasInline = true;
        if (part.type === 'image_url' && part.image_url.url.startsWith('data:')) hasInline = true;
      }
    }
    // The common case (plain text) costs nothing more.
    if (!ids.size && !hasInline) return { messages, extraTokens };

    const files = new Map((await this.repo.findOwnedWithText(caller.userId, [...ids])).map((f) => [f.id, f]));
    let budget = this.config.limits.maxAttachmentTokens;
    const out = new Array<ChatMessage>(messages.length);
    // Newest first, so that the budget serves the turn being asked about before older ones.
    for (let i = messages.length - 1; i >= 0; i--) {
      const message = messages[i];
      if (!Array.isArray(message.content)) {
        out[i] = message;
        continue;
      }
      const parts: ContentPart[] = [];
      for (const [j, part] of message.content.entries()) {
        const param = `messages.${i}.content.${j}`;
        if (part.type === 'image_url') {
          this.checkInlineImage(part, param);
          parts.push(part);
        } else if (part.type === 'file' && !part.file.file_id && part.file.file_data) {
          // An inline document goes to the upstream as it is; what it may cost is bounded here.
          extraTokens[i] += await this.inlineFileBound(caller, part, model, param);
          parts.push(part);
        } else if (part.type === 'file' && part.file.file_id) {
          const file = files.get(part.file.file_id);
          if (!file && i < historyCount) {
            parts.push({ type: 'text', text: `[file: ${part.file.filename ?? 'attachment'} (deleted)]` });
            continue;
          }
          if (!file) throw new DomainError('not_found', `No file with id ${part.file.file_id}.`, { param, code: 'file_not_found' });
          if (file.kind === 'image') {
            if (!model.vision) {
              throw new DomainError('invalid', `The model '${model.id}' does not accept images (${file.filename}).`, {
                param,
                code: 'model_not_vision_capable',
              });
            }
            parts.push({ type: 'text', text: `[image: ${file.filename}]` }, { type: 'image_url', image_url: { url: await this.imageUrl(file) } });
          } else {
            const allowance = Math.max(0, Math.min(this.config.limits.maxFileTokens, budget));
            const trimmed = await trimToTokenBudget(file.text ?? '', allowance, (s) => this.tokens.countText(s), file.textTokens ?? undefined);
            budget -= trimmed.keptTokens;
            parts.push({ type: 'text', text: formatDocumentPart(file.filename, file.pages, trimmed) });
          }
        } else {
          parts.push(part);
        }
      }
      out[i] = { ...message, content: parts };
    }
    return { messages: out, extraTokens };
  }

  /**
   * The most an inline document (`file_data`) may cost: a PDF is read by the upstream as its text
   * and an image of every page, so its text tokens plus the model's high-detail image figure per
   * page; other documents their text; an image its image figure. Read off the main thread, with
   * the same limits as an upload.
   */
  private async inlineFileBound(caller: Caller, part: FilePart, model: ResolvedModel, param: string): Promise<number> {
    const raw = part.file.file_data!;
    const match = /^data:([^;,]*)(;base64)?,/.exec(raw);
    if (match && !match[2]) throw new DomainError('invalid', 'Inline file data must be base64: data:application/pdf;base64,…', { param });
    const b64 = match ? raw.slice(match[0].length) : raw;
    if (base64Bytes(b64) > this.config.limits.maxFileBytes) throw fileTooLarge(this.config.limits.maxFileBytes, 'file', param);
    if (!/^[A-Za-z0-9+/\s]*={0,2}$/.test(b64)) throw new DomainError('invalid', 'The inline file data is not valid base64.', { param });
    const bytes = Buffer.from(b64, 'base64');
    const type = detectType(bytes, part.file.filename);
    if (type.kind === 'image') {
      if (!model.vision)
        throw new DomainError('invalid', `The model '${model.id}' does not accept images.`, { param, code: 'model_not_vision_capable' });
      return model.imageTokens.high;
    }
    const { maxUnzippedBytes, maxPdfPages } = this.config.limits;
    const { text, pages } = await this.extractor.extract(caller.userId, bytes, type, { maxUnzippedBytes, maxPdfPages });
    return (await this.tokens.countText(text ?? '')) + (pages ?? 0) * model.imageTokens.high + DOCUMENT_HEADER_TOKENS;
  }

  private async imageUrl(file: FileRow): Promise<string> {
    if (this.config.files.imageDelivery === 'presigned_url') {
      const url = await this.blobs.presignGet(file.storageKey, { contentType: file.mimeType });
      if (url) return url;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of await this.blobs.get(file.storageKey)) chunks.push(chunk as Buffer);
    return `data:${file.mimeType};base64,${Buffer.concat(chunks).toString('base64')}`;
  }

  private checkInlineImage(part: ImagePart, param: string): void {
    const url = part.image_url.url;
    if (!url.startsWith('data:')) return;
    const match = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
    if (!match || !match[2]) throw new DomainError('invalid', 'An image data URL must be base64: data:image/png;base64,…', { param });
    const b64 = match[3];
    const bytes = Math.floor((b64.length * 3) / 4);
    if (bytes > this.config.limits.maxFileBytes) {
      throw fileTooLarge(this.config.limits.maxFileBytes, 'image', param);
    }
    if (!/^[A-Za-z0-9+/\s]*={0,2}$/.test(b64)) throw new DomainError('invalid', 'The image data URL is not valid base64.', { param });
    const detected = detectType(Buffer.from(b64.slice(0, 4096), 'base64'));
    if (detected.kind !== 'image') {
      throw new DomainError('unsupported_media', `The data URL holds ${detected.mime}, not an image (PNG, JPEG, WebP, GIF).`, { param });
    }
  }
}
