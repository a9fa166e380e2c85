import '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../../common/errors/domain-error.js';
import type { IncomingFile } from './file-ingestor.service.js';
import type { FileMeta } from './files.repository.js';

export interface MultipartForm {
  /** Form fields by name; a field sent as application/json arrives parsed. */
  fields: Record<string, unknown>;
  files: FileMeta[];
}

/**
 * Reads a multipart request part by part: fields are collected, each file part named in
 * `fileFields` is handed to `ingest` as it streams in. If anything fails (a file refused, the
 * file count exceeded, a broken form), the files already ingested are discarded before the
 * error goes on, so a failed request leaves nothing behind.
 */
export async function readMultipartForm(
  request: FastifyRequest,
  options: {
    fileFields: readonly string[];
    ingest: (file: IncomingFile) => Promise<FileMeta>;
    discard: (file: FileMeta) => Promise<void>;
  },
): Promise<MultipartForm> {
  if (!request.isMultipart()) throw new DomainError('unsupported_media', 'Expected a multipart/form-data body.');
  const fields: Record<string, unknown> = {};
  const files: FileMeta[] = [];
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (!options.fileFields.includes(part.fieldname)) {
          part.file.resume();
          throw new DomainError('invalid', `Unexpected file field '${part.fieldname}'; send files as ${options.fileFields.map((f) => `'${f}'`).join(' or ')}.`, {
            param: part.fieldname,
          });
        }
        files.push(await options.ingest({ filename: part.filename, stream: part.file, truncated: () => part.file.truncated }));
      } else {
        fields[part.fieldname] = part.value;
      }
    }
  } catch (err) {
    for (const file of files) await options.discard(file);
    throw err;
  }
  return { fields, files };
}
