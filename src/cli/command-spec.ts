import type { ParseArgsConfig } from 'node:util';
import type { ApiClient } from './api-client.js';
import type { ResolvedConfig } from './config.js';
import { UsageError } from './usage-error.js';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

export interface Terminal {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export interface CommandContext {
  config: ResolvedConfig;
  /** Throws a usage error if no API key is configured. */
  client(): ApiClient;
  io: Terminal;
  /** ANSI styling on stdout (a TTY, and NO_COLOR unset). */
  color: boolean;
  debug: boolean;
  version: string;
}

export interface CommandArgs {
  values: OptionValues;
  positionals: string[];
}

/** One command (`models`) or subcommand (`files get`): its options, help and handler. */
export interface CommandSpec {
  /** "models", or "files get" for a subcommand. */
  name: string;
  /** Arguments after the name, for help: "ID [-o PATH]". */
  usage: string;
  summary: string;
  /** Arguments shown beside the name in `colloquy --help`, if any matter there. */
  synopsis?: string;
  options?: OptionsConfig;
  /** Help lines for the options: [flags, description]. */
  optionHelp?: Array<[string, string]>;
  /** Extra help text (examples). */
  details?: string;
  /** Returns the exit code (0 when nothing is returned). */
  run(ctx: CommandContext, args: CommandArgs): Promise<number | void>;
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

/** Exactly the positional arguments a command takes, else a usage error naming them. */
export function expectArgs(spec: CommandSpec, positionals: string[], min: number, max = min): string[] {
  if (positionals.length < min || positionals.length > max) {
    const problem = positionals.length < min ? 'missing arguments' : `unexpected argument "${positionals[max]}"`;
    throw new UsageError(`${problem}: colloquy ${spec.name} ${spec.usage}`.trimEnd(), `colloquy ${spec.name} --help`);
  }
  return positionals;
}

/** A positive integer option (--limit). */
export function intOption(values: OptionValues, name: string, fallback: number, max: number): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be a whole number from 1 to ${max}`);
  return n;
}
