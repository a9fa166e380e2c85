import type { EventEmitter } from 'node:events';
import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger } from 'pino';

export type AppLogger = Logger;

/** Log lines held while stdout does not take them (a stuck reader); past this they are dropped. */
const MAX_BUFFERED_LOG_BYTES = 16 * 1024 * 1024;

/**
 * The one structured logger. Paths that could carry secrets or user content are censored as a
 * second line of defence; the code never logs prompts, completions, file contents or keys.
 */
export function createLogger(level: string, destination?: DestinationStream): AppLogger {
  return pino(
    {
      level,
      base: { service: 'colloquy' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
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
    destination ?? pino.destination({ sync: false, maxLength: MAX_BUFFERED_LOG_BYTES }),
  );
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
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as Partial<AsyncDestination> | undefined;
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
