import { DomainError } from '../../common/errors/domain-error.js';
import type { FormPart } from '../../common/http/multipart.js';
import type { IncomingFile } from './file-ingestor.service.js';
import type { FileMeta } from './files.repository.js';

export interface MultipartForm {
  /** Form fields by name; a field sent as application/json arrives parsed. */
  fields: Record<string, unknown>;
  files: FileMeta[];
}

/**
 * Reads a multipart form part by part: fields are collected, each file part named in
 * `fileFields` is handed to `ingest` as it streams in. If anything fails (a file refused, the
 * file count exceeded, a broken form), the files already ingested are discarded before the
 * error goes on, so a failed request leaves nothing behind.
 */
export async function readMultipartForm(
  parts: AsyncIterable<FormPart>,
  options: {
    fileFields: readonly string[];
    ingest: (file: IncomingFile) => Promise<FileMeta>;
    discard: (file: FileMeta) => Promise<void>;
  },
): Promise<MultipartForm> {
  const fields: Record<string, unknown> = {};
  const files: FileMeta[] = [];
  try {
    for await (const part of parts) {
      if (part.kind === 'file') {
        if (!options.fileFields.includes(part.name)) {
          part.stream.resume();
          throw new DomainError(
            'invalid',
            `Unexpected file field '${part.name}'; send files as ${options.fileFields.map((f) => `'${f}'`).join(' or ')}.`,
            {
              param: part.name,
            },
          );
        }
        files.push(await options.ingest({ filename: part.filename, stream: part.stream, truncated: part.truncated }));
      } else {
        fields[part.name] = part.value;
      }
    }
  } catch (err) {
    for (const file of files) await options.discard(file);
    throw err;
  }
  return { fields, files };
}
