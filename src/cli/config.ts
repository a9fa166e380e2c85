import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from './usage-error.js';

export const DEFAULT_URL = 'http://localhost:3000';

/** What `colloquy login` writes (JSON, mode 0600). */
export interface StoredConfig {
  url?: string;
  api_key?: string;
}

export type Source = 'flag' | 'env' | 'file' | 'default';

export interface ResolvedConfig {
  url: string;
  apiKey: string | null;
  /** Where each value came from, for `--debug` and error hints. */
  sources: { url: Source; apiKey: Source | null };
  /** The config file consulted (it may not exist). */
  path: string;
}

/** `$COLLOQUY_CONFIG`, else `$XDG_CONFIG_HOME/colloquy/config.json`, else `~/.config/colloquy/config.json`. */
export function configPath(env: NodeJS.ProcessEnv, home: string = homedir()): string {
  if (env.COLLOQUY_CONFIG) return env.COLLOQUY_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'colloquy', 'config.json');
}

/** The chat's typed-line history lives beside the config file (it may hold prompts: same 0600). */
export function historyPath(configFile: string): string {
  return join(dirname(configFile), 'history');
}

/** A missing file is an empty config; a damaged one is an error naming it. */
export function readConfigFile(path: string): StoredConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    const { url, api_key } = parsed as Record<string, unknown>;
    return { ...(typeof url === 'string' ? { url } : {}), ...(typeof api_key === 'string' ? { api_key } : {}) };
  } catch {
    throw new UsageError(`the config file ${path} is not valid JSON: fix it or run \`colloquy login\` again`);
  }
}

/** Owner-only: the file holds an API key. Written whole then renamed, so a crash never leaves half a file. */
export function writeConfigFile(path: string, config: StoredConfig): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.config-${process.pid}.tmp`);
  writeFileSync(temp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  // writeFileSync's mode is filtered by the umask and ignored for an existing file: set it outright.
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** Precedence: flags, then the environment, then the config file, then the default URL. */
export function resolveConfig(input: {
  flags: { url?: string; key?: string };
  env: NodeJS.ProcessEnv;
  file: StoredConfig;
  path: string;
}): ResolvedConfig {
  const pick = (flag: string | undefined, env: string | undefined, file: string | undefined): [string, Source] | null => {
    if (flag) return [flag, 'flag'];
    if (env) return [env, 'env'];
    if (file) return [file, 'file'];
    return null;
  };
  const url = pick(input.flags.url, input.env.COLLOQUY_URL, input.file.url) ?? [DEFAULT_URL, 'default'];
  const key = pick(input.flags.key, input.env.COLLOQUY_API_KEY, input.file.api_key);
  return {
    url: normalizeUrl(url[0]),
    apiKey: key ? key[0].trim() : null,
    sources: { url: url[1], apiKey: key ? key[1] : null },
    path: input.path,
  };
}

/**
 * The server's root URL without a trailing slash. A trailing /v1 (what OpenAI SDKs are given) is
 * dropped: Colloquy's own routes (/chat, /files…) live at the root.
 */
export function normalizeUrl(raw: string): string {
  const value = raw.trim();
  if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) {
    throw new UsageError(`the server URL must start with http:// or https:// (got "${value}")`);
  }
  return value.replace(/\/+$/, '').replace(/\/v1$/, '');
}
