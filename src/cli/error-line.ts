import { ApiError } from './api-error.js';
import { formatDuration } from './format.js';
import { UsageError } from './usage-error.js';

export const EXIT_OK = 0;
export const EXIT_API = 1;
export const EXIT_USAGE = 2;

export interface DescribedError {
  /** One line, without a trailing newline. */
  line: string;
  exitCode: number;
}

/**
 * What the user reads when a command fails: one line saying what happened and, where it helps,
 * what to do. Stack traces are for --debug only, so unknown errors show just their message.
 */
export function describeError(err: unknown): DescribedError {
  if (err instanceof UsageError) {
    return { line: err.hint ? `${err.message} (see ${err.hint})` : err.message, exitCode: EXIT_USAGE };
  }
  if (err instanceof ApiError) {
    const line = apiErrorLine(err);
    return { line: err.details.subject ? `${err.details.subject}: ${line}` : line, exitCode: EXIT_API };
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown })?.code;
  // Local file problems (ENOENT on --file, EACCES on -o) are the user's to fix, not the server's.
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return { line: fileErrorLine(err as NodeJS.ErrnoException), exitCode: EXIT_API };
  return { line: message || 'unexpected error', exitCode: EXIT_API };
}

function apiErrorLine(err: ApiError): string {
  // No envelope (a proxy's error page): the message already says what answered.
  if (err.kind !== 'http' || (err.details.type == null && err.details.code == null)) return err.message;
  const { status, code, retryAfterSeconds } = err.details;
  const retry = retryAfterSeconds != null ? `; retry in ${formatDuration(retryAfterSeconds)}` : '';
  switch (status) {
    case 401:
      return `the API key was refused (${err.message}): check --key, COLLOQUY_API_KEY or \`colloquy login\``;
    case 403:
      return `not allowed: ${err.message}`;
    case 429:
      if (code === 'insufficient_quota') return `over budget: ${err.message}${retry}`;
      return `over a rate limit: ${err.message}${retry || '; retry later'}`;
    case 502:
    case 503:
    case 504:
      return `${err.message} (HTTP ${status}${retry ? `, retry in ${formatDuration(retryAfterSeconds!)}` : ''})`;
    default:
      return status !== undefined && status >= 500 ? `server error (HTTP ${status}): ${err.message}` : err.message;
  }
}

function fileErrorLine(err: NodeJS.ErrnoException): string {
  const path = err.path ? `${err.path}: ` : '';
  switch (err.code) {
    case 'ENOENT':
      return `${path}no such file or directory`;
    case 'EACCES':
    case 'EPERM':
      return `${path}permission denied`;
    case 'EISDIR':
      return `${path}is a directory`;
    case 'EEXIST':
      return `${path}already exists`;
    default:
      return err.message;
  }
}
