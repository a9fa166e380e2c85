import type { FastifyReply } from 'fastify';
import type { FileDownload } from './files.service.js';

/** Sends a file's bytes with its detected type and name, or redirects to its presigned URL. */
export async function sendFile(reply: FastifyReply, download: FileDownload): Promise<void> {
  if (download.redirect) {
    await reply.header('cache-control', 'no-store').redirect(download.redirect, 302);
    return;
  }
  await reply
    .header('content-type', download.file.mime_type)
    .header('content-length', String(download.file.bytes))
    .header('content-disposition', contentDisposition(download.file.filename))
    .header('x-content-sha256', download.file.sha256)
    .send(download.body);
}

/** RFC 6266 with an ASCII fallback and the UTF-8 name (RFC 5987). */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
