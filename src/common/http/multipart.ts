import '@fastify/multipart';
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../errors/domain-error.js';

/** One part of a multipart/form-data body, without the transport: a field, or a file that streams in. */
export type FormPart =
  { kind: 'field'; name: string; value: unknown } | { kind: 'file'; name: string; filename: string; stream: Readable; truncated: () => boolean };

/**
 * The parts of a multipart request as they arrive (415 when the body is not multipart). A file
 * part must be consumed (or resumed) before the next part is read.
 */
export async function* formParts(request: FastifyRequest): AsyncGenerator<FormPart> {
  if (!request.isMultipart()) throw new DomainError('unsupported_media', 'Expected a multipart/form-data body.');
  for await (const part of request.parts()) {
    if (part.type === 'file')
      yield { kind: 'file', name: part.fieldname, filename: part.filename, stream: part.file, truncated: () => part.file.truncated };
    else yield { kind: 'field', name: part.fieldname, value: part.value };
  }
}
