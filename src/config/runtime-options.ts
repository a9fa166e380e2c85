import type { EmbeddedDatabase } from '../persistence/embedded-database.js';

/**
 * What the process that starts the server hands it besides configuration: tests pass an embedded
 * database started from a migrated snapshot, the CLI entry point passes nothing.
 */
export interface RuntimeOptions {
  embeddedDatabase?: EmbeddedDatabase;
  /** Where the one-time admin key banner goes; stdout (not the log) by default. */
  banner?: (line: string) => void;
}

export const RUNTIME_OPTIONS = Symbol('RUNTIME_OPTIONS');
