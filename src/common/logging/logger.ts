import type { EventEmitter } from 'node:events';
import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger } from 'pino';

export type AppLogger = Logger;

/** Log lines held while stdout does not take them (a stuck reader); past this they are dropped. */
const MAX_BUFFERED_LOG_BYTES = 16 * 1024 * 1024;
/**
 * Lines are written to stdout in batches of this many bytes, and at least every
 * LOG_FLUSH_MS: under load one write per ~20 request lines instead of one per line or two.
 */
const LOG_BATCH_BYTES = 4096;
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
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ sync: false, maxLength: MAX_BUFFERED_LOG_BYTES, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS }),
  );
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
  flush(): void;
  /** sonic-boom's own count of bytes logged and not yet written. */
  _len?: number;
  /** sonic-boom's own flag: a write is in flight, and whatever was logged since waits behind it. */
  _writing?: boolean;
}

/**
 * Waits at most `timeoutMs` for the log lines not yet written to stdout, then gives up on them,
 * so that exiting cannot hang: on exit pino writes what is left synchronously and retries for
 * ever while stdout is a pipe nobody reads (or whose reader went away).
 */
export function drainLogger(logger: AppLogger, timeoutMs: number): Promise<void> {
  const stream = streamOf(logger) as Partial<AsyncDestination> | undefined;
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
    // Lines still batched: start writing them, and wait for that write like any other.
    if (!destination._writing && destination._len && typeof destination.flush === 'function') destination.flush();
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
