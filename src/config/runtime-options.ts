/**
 * What the process that starts the server hands it besides configuration, for the modules that
 * need it (the CLI entry point passes nothing). The embedded database a test passes goes to
 * persistence through its own module (persistence/embedded-database.module.ts): config imports
 * no layer above common.
 */
export interface RuntimeOptions {
  /** Where the one-time admin key banner goes; stdout (not the log) by default. */
  banner?: (line: string) => void;
}

export const RUNTIME_OPTIONS = Symbol('RUNTIME_OPTIONS');
