import type { PGlite } from '@electric-sql/pglite';

/**
 * What the process that starts the server hands it besides configuration: tests pass an opened
 * PGlite snapshot, the CLI entry point passes nothing.
 */
export interface RuntimeOptions {
  pglite?: PGlite;
  /** Where the one-time admin key banner goes; stdout (not the log) by default. */
  banner?: (line: string) => void;
}

export const RUNTIME_OPTIONS = Symbol('RUNTIME_OPTIONS');
