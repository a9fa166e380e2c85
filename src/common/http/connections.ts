import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorBody } from '../errors/error-table.js';

/**
 * How long, and how much, a connection is still read after the server answered before the request
 * was in (a 413 on its Content-Length, a 415, a request timeout). Closing at once with unread
 * bytes makes the kernel send a reset, and a client still sending then loses the answer (Node's
 * http client sees EPIPE); a lingering close (RFC 9112 §9.6) ends our side and discards what the
 * client still sends, up to these bounds, so that it reads the answer first.
 */
export const LINGER_MAX_MS = 5_000;
export const LINGER_MAX_BYTES = 16 * 1024 * 1024;
const LINGER_CHECK_MS = 50;

/**
 * Ends our side of the connection now (after what is queued is written) and destroys it once the
 * client closes too, or when it has sent `maxBytes` more or `maxMs` passed. The HTTP parser keeps
 * reading meanwhile and drops the rest of the body.
 */
export function closeLingering(
  socket: Socket,
  limits: { maxMs: number; maxBytes: number } = { maxMs: LINGER_MAX_MS, maxBytes: LINGER_MAX_BYTES },
): void {
  if (socket.destroyed) return;
  socket.end();
  const startBytes = socket.bytesRead;
  const deadline = Date.now() + limits.maxMs;
  const check = setInterval(() => {
    if (socket.bytesRead - startBytes > limits.maxBytes || Date.now() >= deadline) socket.destroy();
  }, LINGER_CHECK_MS);
  check.unref();
  socket.once('close', () => clearInterval(check));
}

/**
 * For a response sent while the request body is still arriving: Node closes a `connection: close`
 * response with `socket.destroySoon()` once it is written; this socket closes lingering instead.
 */
export function lingerAfterResponse(socket: Socket | null | undefined): void {
  if (!socket || socket.destroyed) return;
  socket.destroySoon = () => closeLingering(socket);
}

const CLIENT_ERRORS: Record<string, { status: number; message: string; code: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    message: "The request was not received in time: send the whole request (headers and body) within the server's request timeout.",
    code: 'request_timeout',
  },
  HPE_HEADER_OVERFLOW: { status: 431, message: 'The request headers are too large.', code: 'request_header_fields_too_large' },
};

/**
 * Fastify's clientErrorHandler: what Node's HTTP parser rejects before any route runs (a request
 * not received within the request timeout, headers too large, malformed HTTP), answered with the
 * OpenAI error envelope and a lingering close.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = (err.code && CLIENT_ERRORS[err.code]) || { status: 400, message: 'The request is not valid HTTP.', code: 'bad_request' };
  // Only when no answer has begun on this connection: bytes after a started response would corrupt it.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body: ErrorBody = { error: { message: known.message, type: 'invalid_request_error', param: null, code: known.code } };
    const json = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${known.status} ${STATUS_CODES[known.status]}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
    );
  }
  closeLingering(socket, { maxMs: 1_000, maxBytes: 64 * 1024 });
}
