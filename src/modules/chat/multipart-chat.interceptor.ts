import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { catchError, from, type Observable, switchMap, throwError } from 'rxjs';
import { DomainError } from '../../common/errors/domain-error.js';
import { FileIngestor } from '../files/file-ingestor.service.js';
import type { FileMeta } from '../files/files.repository.js';
import { formParts } from '../../common/http/multipart.js';
import { readMultipartForm } from '../files/multipart-form.js';

const NUMBER_FIELDS = new Set([
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'frequency_penalty',
  'presence_penalty',
  'seed',
  'n',
  'top_logprobs',
]);
const BOOLEAN_FIELDS = new Set(['stream', 'logprobs', 'parallel_tool_calls']);
const JSON_FIELDS = new Set(['messages', 'metadata', 'logit_bias', 'response_format', 'tools', 'stream_options']);
const LIST_FIELDS = new Set(['tags', 'file_ids', 'stop']);

/**
 * POST /chat as multipart/form-data (the TextLLM form): a `messages` field holding JSON, the other
 * request fields as form fields, and files in parts named `files`. The files are uploaded (as the
 * authenticated caller, since this runs after the guards) and their ids handed on as `file_ids`;
 * the body is then validated by the same schema as a JSON request. If the turn fails, the files
 * uploaded for it are removed again.
 */
@Injectable()
export class MultipartChatInterceptor implements NestInterceptor {
  constructor(private readonly ingestor: FileIngestor) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!request.isMultipart()) return next.handle();
    const userId = request.caller!.userId;
    let uploaded: FileMeta[] = [];
    return from(
      readMultipartForm(formParts(request), {
        fileFields: ['files', 'file'],
        ingest: (file) => this.ingestor.ingest(userId, file, 'user_data'),
        discard: (file) => this.ingestor.discard(file),
      }),
    ).pipe(
      switchMap((form) => {
        uploaded = form.files;
        const body = formToBody(form.fields);
        body.file_ids = [...((body.file_ids as string[] | undefined) ?? []), ...uploaded.map((f) => f.id)];
        (request as { body: unknown }).body = body;
        return next.handle();
      }),
      catchError((err: unknown) => from(Promise.all(uploaded.map((f) => this.ingestor.discard(f)))).pipe(switchMap(() => throwError(() => err)))),
    );
  }
}

/** Form fields (all strings, unless a part was sent as application/json) as a JSON body. */
export function formToBody(fields: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value !== 'string') {
      body[name] = value;
    } else if (NUMBER_FIELDS.has(name)) {
      body[name] = value.trim() === '' ? undefined : Number(value);
    } else if (BOOLEAN_FIELDS.has(name)) {
      body[name] = value === 'true' ? true : value === 'false' ? false : value;
    } else if (JSON_FIELDS.has(name)) {
      body[name] = parseJsonField(name, value);
    } else if (LIST_FIELDS.has(name)) {
      body[name] = value.trim().startsWith('[')
        ? parseJsonField(name, value)
        : value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
    } else if (name === 'tool_choice' && value.trim().startsWith('{')) {
      body[name] = parseJsonField(name, value);
    } else {
      body[name] = value;
    }
  }
  return body;
}

function parseJsonField(name: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new DomainError('invalid', `The form field '${name}' must hold JSON.`, { param: name });
  }
}
