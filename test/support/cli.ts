import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { assertBuilt } from './built.js';

/** The built CLI, as users run it (`npm ci` builds it once; `npm run build` after changes). */
export const CLI_ENTRY = resolve('dist/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * An environment for the CLI with nothing of the developer's: a fresh HOME and config path, and
 * only the variables given.
 */
export function cliEnv(vars: Record<string, string | undefined> = {}): Record<string, string> {
  assertBuilt('dist/cli/main.js');
  const home = mkdtempSync(join(tmpdir(), 'colloquy-cli-home-'));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home, COLLOQUY_CONFIG: join(home, 'config', 'colloquy.json') };
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs `node dist/cli/main.js ...args` to the end; stdin gets `input` (or is closed at once). */
export function runCli(args: string[], env: Record<string, string>, input = '', entry = CLI_ENTRY): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
