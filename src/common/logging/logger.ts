import type { EventEmitter } from 'node:events';
import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger } from 'pino';

export type AppLogger = Logger;

/** Log lines held while stdout does not take them (a stuck reader); past this they are dropped. */
const MAX_BUFFERED_LOG_BYTES = 16 * 1024 * 1024;
/**
 * Lines go to stdout in batches of about this many characters, and at the latest LOG_FLUSH_MS
 * after the first of a batch: under load one write per ~20 request lines instead of one or two
 * per line (measured at ~10% of the CPU of a /v1 request).
 */
const LOG_BATCH_CHARS = 4096;
const LOG_FLUSH_MS = 100;

const BASE_OPTIONS = {
  base: { service: 'colloquy' },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label: string) => ({ level: label }) },
};

/**
 * The one structured logger. Paths that could carry secrets or user content are censored as a
 * second line of defence; the code never logs prompts, completions, file contents or keys.
 */
export function createLogger(level: string, destination?: DestinationStream): AppLogger {
  return pino(
    {
      level,
      ...BASE_OPTIONS,
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'apiKey',
          '*.apiKey',
          'key',
          '*.key',
          'messages',
          '*.messages',
          'content',
          '*.content',
          'password',
          '*.password',
          'current_password',
          '*.current_password',
          'cookie',
          '*.cookie',
          'headers.cookie',
          '*.headers.cookie',
          'api_key',
          '*.api_key',
          'csrf_token',
          '*.csrf_token',
          'headers["x-csrf-token"]',
          '*.headers["x-csrf-token"]',
          'headers["set-cookie"]',
          '*.headers["set-cookie"]',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? batchedStdout(),
  );
}

/** Gathers log lines and hands them to the stdout stream a batch at a time, as one string. */
class LineBatcher {
  private lines: string[] = [];
  private chars = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly target: DestinationStream) {}

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= LOG_BATCH_CHARS) this.release();
    else this.timer ??= setTimeout(() => this.release(), LOG_FLUSH_MS).unref();
  }

  /** Hands what is gathered to the stream now. */
  release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.lines.length) return;
    const text = this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.target.write(text);
  }
}

function batchedStdout(): LineBatcher {
  const stdout = pino.destination({ sync: false, maxLength: MAX_BUFFERED_LOG_BYTES });
  const batcher = new LineBatcher(stdout);
  // pino writes the stream's rest synchronously at exit; the batch not handed over yet goes with it.
  process.once('exit', () => {
    batcher.release();
    try {
      stdout.flushSync();
    } catch {
      // Not open yet, or stdout gone: nothing more can be done at exit.
    }
  });
  return batcher;
}

/**
 * The one-line-per-request access log on the same stream: its fields are fixed (ids, route,
 * status, timing), never user content, so it skips the redaction pass every other line takes.
 */
export function createAccessLogger(logger: AppLogger): AppLogger {
  return pino({ level: logger.level, ...BASE_OPTIONS }, streamOf(logger) as DestinationStream);
}

function streamOf(logger: AppLogger): unknown {
  return (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
}

/** The part of pino's asynchronous stdout destination (sonic-boom) the exit path relies on. */
interface AsyncDestination extends EventEmitter {
  flushSync(): void;
  /** sonic-boom's own flag: a write is in flight, and whatever was logged since waits behind it. */
  _writing?: boolean;
}

/**
 * Waits at most `timeoutMs` for the log lines not yet written to stdout, then gives up on them,
 * so that exiting cannot hang: on exit pino writes what is left synchronously and retries for
 * ever while stdout is a pipe nobody reads (or whose reader went away).
 */
export function drainLogger(logger: AppLogger, timeoutMs: number): Promise<void> {
  let stream = streamOf(logger) as Partial<AsyncDestination> | LineBatcher | undefined;
  if (stream instanceof LineBatcher) {
    stream.release();
    stream = stream.target as Partial<AsyncDestination>;
  }
  if (!stream || typeof stream.flushSync !== 'function' || typeof stream.once !== 'function') return Promise.resolve();
  const destination = stream as AsyncDestination;
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      destination.off('drain', finish);
      destination.off('error', finish);
      // Still writing: stdout does not take it; what is left is lost rather than the exit.
      if (destination._writing) destination.flushSync = () => undefined;
      resolve();
    };
    const timer = setTimeout(finish, Math.max(0, timeoutMs));
    if (!destination._writing) return finish();
    destination.once('drain', finish);
    destination.once('error', finish);
  });
}

/** Routes Nest's own log lines (startup, module init) into the same JSON stream. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: AppLogger) {}

  // Nest's own chatter (module init, route mapping) is debug detail for us.
  log(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
