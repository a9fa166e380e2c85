import type { AppLogger } from '../../src/common/logging/logger.js';
import { createLogger } from '../../src/common/logging/logger.js';

export interface MemoryLogger {
  logger: AppLogger;
  /** Every line logged, parsed, oldest first. */
  lines: Array<Record<string, unknown> & { level: string; msg?: string }>;
}

/** The application's logger (same redaction), writing its JSON lines to an array instead of stdout. */
export function memoryLogger(level = 'debug'): MemoryLogger {
  const lines: MemoryLogger['lines'] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}
