import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppConfig } from './app-config.js';
import { configSchema, type ConfigShape } from './config.schema.js';

/** Every environment variable the server reads, and the config key it overrides. */
export const ENV_BINDINGS = [
  ['PORT', 'server.port'],
  ['HOST', 'server.host'],
  ['CORS_ORIGINS', 'server.cors_origins'],
  ['MAX_BODY_MB', 'server.max_body_mb'],
  ['SHUTDOWN_GRACE_MS', 'server.shutdown_grace_ms'],
  ['REQUEST_TIMEOUT_MS', 'server.request_timeout_ms'],
  ['LOG_LEVEL', 'server.log_level'],
  ['TRUST_PROXY', 'server.trust_proxy'],
  ['DATA_DIR', 'data_dir'],
  ['PERSONAS_DIR', 'personas_dir'],
  ['DATABASE_URL', 'database.url'],
  ['DATABASE_POOL_SIZE', 'database.pool_size'],
  ['DATABASE_PREPARED_STATEMENTS', 'database.prepared_statements'],
  ['S3_BUCKET', 'storage.s3.bucket'],
  ['S3_ENDPOINT', 'storage.s3.endpoint'],
  ['S3_REGION', 'storage.s3.region'],
  ['S3_ACCESS_KEY_ID', 'storage.s3.access_key_id'],
  ['S3_SECRET_ACCESS_KEY', 'storage.s3.secret_access_key'],
  ['S3_FORCE_PATH_STYLE', 'storage.s3.force_path_style'],
  ['S3_PRESIGN_TTL_SECONDS', 'storage.s3.presign_ttl_seconds'],
  ['REDIS_URL', 'redis.url'],
  ['REDIS_FAIL_OPEN', 'redis.fail_open'],
  ['COLLOQUY_ADMIN_KEY', 'auth.admin_key'],
  ['AUTH_CACHE_TTL_MS', 'auth.cache_ttl_ms'],
  ['SESSION_TTL_HOURS', 'auth.session_ttl_hours'],
  ['METRICS_TOKEN', 'metrics.token'],
  ['GUEST_ACCESS', 'guest.enabled'],
  ['GUEST_RPM_PER_IP', 'guest.rpm_per_ip'],
  ['GUEST_DAILY_BUDGET_USD', 'guest.daily_budget_usd'],
  ['GUEST_SCOPE', 'guest.scope'],
  ['UPSTREAM_MAX_RETRIES', 'upstream.max_retries'],
  ['UPSTREAM_TIMEOUT_MS', 'upstream.timeout_ms'],
  ['UPSTREAM_IDLE_TIMEOUT_MS', 'upstream.idle_timeout_ms'],
  ['OPENAI_API_KEY', 'providers.openai.api_key'],
  ['OPENAI_BASE_URL', 'providers.openai.base_url'],
  ['OPENROUTER_API_KEY', 'providers.openrouter.api_key'],
  ['OPENROUTER_BASE_URL', 'providers.openrouter.base_url'],
  ['OLLAMA_BASE_URL', 'providers.ollama.base_url'],
  ['DEFAULT_MODEL', 'defaults.model'],
  ['LUMA_MODEL', 'compat.luma.model'],
  ['SESSION_IDLE_MINUTES', 'defaults.session_idle_minutes'],
  ['JOBS_CONCURRENCY', 'jobs.concurrency'],
  ['MEMORY_MAX_TOKENS', 'memory.max_prompt_tokens'],
  ['TOOLS_PLUGINS_DIR', 'tools.plugins_dir'],
  ['TOOLS_TIMEOUT_MS', 'tools.timeout_ms'],
  ['TOOLS_MAX_RESULT_TOKENS', 'tools.max_result_tokens'],
  ['TOOLS_MAX_ROUNDS', 'tools.max_rounds'],
  ['MAX_INPUT_TOKENS', 'limits.max_input_tokens'],
  ['MAX_FILE_MB', 'limits.max_file_mb'],
  ['MAX_FILES_PER_REQUEST', 'limits.max_files_per_request'],
  ['MAX_UNZIPPED_MB', 'limits.max_unzipped_mb'],
  ['MAX_PDF_PAGES', 'limits.max_pdf_pages'],
  ['EXTRACTION_TIMEOUT_MS', 'limits.extraction_timeout_ms'],
  ['FILES_IMAGE_DELIVERY', 'files.image_delivery'],
  ['RATE_LIMIT_RPM', 'limits.rate.rpm'],
  ['RATE_LIMIT_TPM', 'limits.rate.tpm'],
  ['RATE_LIMIT_DEFAULT_OUTPUT_TOKENS', 'limits.rate.default_output_tokens'],
  ['LOCAL_MODELS_CONFIG', 'local.models_config'],
  ['LLM_MODELS', 'local.listed'],
  ['LOCAL_IDLE_UNLOAD_MINUTES', 'local.idle_unload_minutes'],
  ['LOCAL_QUEUE_MAX', 'local.queue_max'],
  ['LOCAL_MAX_MEMORY_MB', 'local.max_memory_mb'],
  ['LOCAL_GPU', 'local.gpu'],
  ['LLM_TEMP', 'local.temperature'],
  ['LLM_TOP_P', 'local.top_p'],
  ['LLM_TOP_K', 'local.top_k'],
  ['LLM_REPEAT_PENALTY', 'local.repeat_penalty'],
  ['LLM_SAFETY_MARGIN', 'local.safety_margin'],
] as const satisfies ReadonlyArray<readonly [string, string]>;

/** Providers every installation knows; config/colloquy.yaml may change or extend them. */
const BUILTIN_PROVIDERS = {
  openai: { base_url: 'https://api.openai.com/v1' },
  openrouter: { base_url: 'https://openrouter.ai/api/v1' },
  // No default URL: Ollama counts as configured only once OLLAMA_BASE_URL (or the file) names it.
  ollama: { keyless: true },
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface LoadConfigOptions {
  /** The environment to read; tests pass their own instead of process.env. */
  env?: Record<string, string | undefined>;
  /** Overrides the CONFIG_FILE variable and the default path. */
  file?: string;
  /** The installation directory; the default config file is config/colloquy.yaml inside it. */
  rootDir?: string;
}

export interface LoadedConfig {
  config: ConfigShape;
  /** Absolute path of the YAML file read, or null when none existed. */
  file: string | null;
  rootDir: string;
}

/** Reads the YAML file, applies environment overrides and validates the result once. */
export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  const { config, file, rootDir } = loadConfigShape(options);
  return new AppConfig(config, { file, rootDir, version: readVersion(rootDir) });
}

export function loadConfigShape(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const rootDir = resolve(options.rootDir ?? '.');
  const file = resolveConfigFile(options.file ?? nonEmpty(env.CONFIG_FILE), rootDir);
  const raw = file ? readYaml(file) : {};
  const fromEnv = new Map<string, string>();

  const tree = withSections(raw);
  tree.providers = mergeProviders(BUILTIN_PROVIDERS, tree.providers);
  for (const [name, path] of ENV_BINDINGS) {
    const value = nonEmpty(env[name]);
    if (value === undefined) continue;
    setPath(tree, path, value);
    fromEnv.set(path, name);
  }
  // Providers declared in YAML may name the variable holding their key.
  for (const [name, provider] of Object.entries(tree.providers as Record<string, Record<string, unknown>>)) {
    const varName = provider?.api_key_env;
    if (typeof varName === 'string' && provider.api_key == null && nonEmpty(env[varName]) !== undefined) {
      provider.api_key = env[varName];
      fromEnv.set(`providers.${name}.api_key`, varName);
    }
  }

  addLocalModels(tree, env, fromEnv);

  // MCP servers' secrets stay in the environment: `${VAR}` in their url, headers and env is filled in from it.
  if (Array.isArray(tree.mcp_servers)) {
    tree.mcp_servers = tree.mcp_servers.map((server: unknown) => substituteServer(server, env));
  }

  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, fromEnv, file));
  return { config: parsed.data, file, rootDir };
}

/**
 * Llamalith's ways of naming local models, as catalog entries (`provider: local`): the
 * `model_paths` of LOCAL_MODELS_CONFIG (or Llamalith's own LLAMALITH_CONFIG), relative to that
 * file's folder, and `<KEY>_PATH` variables for the keys of LLM_MODELS or naming a .gguf file.
 * A key is its own model id; an entry of the YAML catalog with that id wins.
 */
function addLocalModels(tree: Record<string, unknown>, env: Record<string, string | undefined>, fromEnv: Map<string, string>): void {
  const local = (tree.local ??= {}) as Record<string, unknown>;
  if (local.models_config == null && nonEmpty(env.LLAMALITH_CONFIG) !== undefined) {
    local.models_config = env.LLAMALITH_CONFIG;
    fromEnv.set('local.models_config', 'LLAMALITH_CONFIG');
  }
  const paths = new Map<string, string>();
  if (typeof local.models_config === 'string' && local.models_config.trim()) {
    const file = resolve(local.models_config);
    const where = `${fromEnv.get('local.models_config') ?? 'local.models_config'} (${file})`;
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(
        `${where}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : `not valid JSON (${(err as Error).message})`}`,
      );
    }
    const modelPaths = (doc as { model_paths?: unknown } | null)?.model_paths;
    if (!modelPaths || typeof modelPaths !== 'object' || Array.isArray(modelPaths)) {
      throw new ConfigError(`${where}: expected {"model_paths": {"<model key>": "<file>.gguf", ...}}`);
    }
    for (const [key, path] of Object.entries(modelPaths)) {
      if (typeof path !== 'string' || !path.trim()) throw new ConfigError(`${where}: model_paths.${key} must be a file path`);
      paths.set(key, resolve(dirname(file), path));
    }
  }
  const raw: unknown[] =
    typeof local.listed === 'string' ? local.listed.split(',').map((k) => k.trim()) : Array.isArray(local.listed) ? local.listed : [];
  const listed = raw.filter((k): k is string => typeof k === 'string' && k !== '');
  for (const [name, value] of Object.entries(env)) {
    const match = /^([A-Za-z0-9_]+)_PATH$/.exec(name);
    const path = nonEmpty(value);
    if (!match || path === undefined) continue;
    const key = listed.find((k) => k.toUpperCase().replace(/[^A-Z0-9]/g, '_') === match[1]) ?? match[1].toLowerCase();
    if (!listed.includes(key) && !/\.gguf$/i.test(path)) continue;
    if (!paths.has(key)) paths.set(key, resolve(path));
  }
  if (!paths.size) return;
  const models = Array.isArray(tree.models) ? tree.models : [];
  const declared = new Set(models.map((m: unknown) => (m as { id?: unknown })?.id));
  for (const [id, gguf] of paths) if (!declared.has(id)) models.push({ id, provider: 'local', gguf });
  tree.models = models;
}

/** `${NAME}` replaced from the environment (unset: empty). */
export function substituteEnv(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? '');
}

function substituteServer(server: unknown, env: Record<string, string | undefined>): unknown {
  if (server === null || typeof server !== 'object') return server;
  const out = { ...(server as Record<string, unknown>) };
  if (typeof out.url === 'string') out.url = substituteEnv(out.url, env);
  for (const key of ['headers', 'env']) {
    const values = out[key];
    if (values && typeof values === 'object' && !Array.isArray(values)) {
      out[key] = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? substituteEnv(v, env) : v]));
    }
  }
  return out;
}

function readVersion(rootDir: string): string {
  try {
    return (JSON.parse(readFileSync(resolve(rootDir, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function resolveConfigFile(explicit: string | undefined, rootDir: string): string | null {
  if (explicit) {
    const path = resolve(explicit);
    if (!existsSync(path)) throw new ConfigError(`CONFIG_FILE: ${path} does not exist`);
    return path;
  }
  const fallback = resolve(rootDir, 'config/colloquy.yaml');
  return existsSync(fallback) ? fallback : null;
}

function readYaml(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (doc == null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${file}: the top level must be a mapping`);
  return doc as Record<string, unknown>;
}

/** Missing sections become empty objects so their defaults apply. */
function withSections(raw: Record<string, unknown>): Record<string, unknown> {
  const tree: Record<string, unknown> = structuredClone(raw);
  for (const key of ['server', 'database', 'redis', 'auth', 'metrics', 'upstream', 'defaults', 'files', 'limits']) {
    tree[key] ??= {};
  }
  tree.storage ??= {};
  const storage = tree.storage as Record<string, unknown>;
  if (storage && typeof storage === 'object') storage.s3 ??= {};
  return tree;
}

function mergeProviders(builtin: Record<string, object>, declared: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(builtin)) out[name] = { ...value };
  if (declared && typeof declared === 'object') {
    for (const [name, value] of Object.entries(declared)) {
      out[name] = value && typeof value === 'object' ? { ...(out[name] as object), ...value } : value;
    }
  }
  return out;
}

function setPath(tree: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    if (!node[key] || typeof node[key] !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function describeIssues(error: z.ZodError, fromEnv: Map<string, string>, file: string | null): string {
  const lines = error.issues.slice(0, 10).map((issue) => {
    const path = issue.path.map(String).join('.');
    const envName = fromEnv.get(path);
    const where = envName ? `${envName} (${path})` : `${path}${file ? ` in ${file}` : ''}`;
    return `  - ${where}: ${issue.message}`;
  });
  return `Invalid configuration:\n${lines.join('\n')}`;
}
