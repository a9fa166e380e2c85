import { join, resolve } from 'node:path';
import type { ConfigShape, McpServerEntry, ModelEntry } from './config.schema.js';

export interface HttpSettings {
  port: number;
  host: string;
  corsOrigins: string[];
  maxBodyBytes: number;
  shutdownGraceMs: number;
  /** The most a client may take to send a whole request, headers and body (0: no limit). */
  requestTimeoutMs: number;
  logLevel: ConfigShape['server']['log_level'];
  trustProxy: boolean;
}

export interface S3Settings {
  bucket: string;
  endpoint: string | null;
  region: string;
  accessKeyId: string | null;
  secretAccessKey: string | null;
  forcePathStyle: boolean;
  presignTtlSeconds: number;
  multipartThresholdBytes: number;
}

export interface ProviderSettings {
  name: string;
  baseUrl: string | null;
  apiKey: string | null;
  keyless: boolean;
  headers: Record<string, string>;
  /** Usable: it has a URL, and a key unless it needs none. */
  configured: boolean;
}

export interface LimitSettings {
  maxInputTokens: number;
  maxFileBytes: number;
  maxFilesPerRequest: number;
  maxUnzippedBytes: number;
  maxPdfPages: number;
  extractionTimeoutMs: number;
  maxFileTokens: number;
  maxAttachmentTokens: number;
  rate: { rpm: number; tpm: number; defaultOutputTokens: number };
}

export interface ToolSettings {
  /** Per role: API names, `builtin`, `plugin`, `mcp`, `mcp:<server>` or `*`. */
  allow: { user: string[]; admin: string[] };
  pluginsDir: string;
  timeoutMs: number;
  maxResultTokens: number;
  maxRounds: number;
}

/** Models served in-process from GGUF files (provider `local`). */
export interface LocalSettings {
  /** Local model ids /v1/models lists (LLM_MODELS); empty: all of them. */
  listed: readonly string[];
  /** Where relative `gguf` paths of the catalog are found: DATA_DIR/models. */
  modelsDir: string;
  /** 0: never unloaded. */
  idleUnloadMs: number;
  queueMax: number;
  maxMemoryBytes: number | null;
  gpu: 'auto' | 'cuda' | 'vulkan' | 'metal' | 'off';
  sampling: { temperature: number; topP: number; topK: number; repeatPenalty: number };
  safetyMargin: number;
}

const MB = 1024 * 1024;

/** The validated configuration, read once at boot and reached only through these typed fields. */
export class AppConfig {
  readonly http: HttpSettings;
  readonly dataDir: string;
  readonly personasDir: string;
  readonly database: { url: string | null; poolSize: number; preparedStatements: boolean };
  readonly s3: S3Settings | null;
  readonly redis: { url: string | null; failOpen: boolean };
  readonly auth: { adminKey: string | null; cacheTtlMs: number; sessionTtlMs: number };
  readonly metricsToken: string | null;
  /** Guest access: header-less requests as the built-in guest user, limited per client IP. */
  readonly guest: { enabled: boolean; rpmPerIp: number; dailyBudgetUsd: number; scope: 'all' | 'stateless' };
  readonly upstream: { maxRetries: number; timeoutMs: number; idleTimeoutMs: number; pingIntervalMs: number };
  readonly providers: ReadonlyMap<string, ProviderSettings>;
  readonly models: readonly ModelEntry[];
  /** Alias name → the catalog id, persona or provider/<model> it stands for (checked by the catalog at start). */
  readonly modelAliases: ReadonlyMap<string, string>;
  /** The replaced systems' routes: Luma's /chat/completion and /chat/stream answer on `luma.model` by default. */
  readonly compat: { luma: { model: string } };
  readonly defaults: { model: string | null; sessionIdleMinutes: number };
  readonly limits: LimitSettings;
  readonly files: { imageDelivery: 'data_url' | 'presigned_url' };
  readonly jobs: { concurrency: number; leaseMs: number; maxAttempts: number };
  readonly memory: { maxPromptTokens: number; maxPerUser: number };
  readonly tools: ToolSettings;
  readonly mcpServers: readonly McpServerEntry[];
  readonly local: LocalSettings;
  /** The installation: where prisma/migrations and the shipped config live. */
  readonly rootDir: string;
  readonly migrationsDir: string;
  /** The YAML file read at boot, if any. */
  readonly file: string | null;
  readonly version: string;

  constructor(
    private readonly shape: ConfigShape,
    origin: { file?: string | null; rootDir?: string; version?: string } = {},
  ) {
    this.rootDir = resolve(origin.rootDir ?? '.');
    this.file = origin.file ?? null;
    this.version = origin.version ?? '0.0.0';
    this.migrationsDir = join(this.rootDir, 'prisma', 'migrations');
    const { server, storage, limits } = shape;
    this.http = {
      port: server.port,
      host: server.host,
      corsOrigins: server.cors_origins,
      maxBodyBytes: Math.round(server.max_body_mb * MB),
      shutdownGraceMs: server.shutdown_grace_ms,
      requestTimeoutMs: server.request_timeout_ms,
      logLevel: server.log_level,
      trustProxy: server.trust_proxy,
    };
    this.dataDir = resolve(shape.data_dir);
    this.personasDir = shape.personas_dir ? resolve(shape.personas_dir) : join(this.rootDir, 'config', 'personas');
    this.database = { url: shape.database.url, poolSize: shape.database.pool_size, preparedStatements: shape.database.prepared_statements };
    const s3 = storage.s3;
    this.s3 = s3.bucket
      ? {
          bucket: s3.bucket,
          endpoint: s3.endpoint,
          region: s3.region,
          accessKeyId: s3.access_key_id,
          secretAccessKey: s3.secret_access_key,
          forcePathStyle: s3.force_path_style,
          presignTtlSeconds: s3.presign_ttl_seconds,
          multipartThresholdBytes: s3.multipart_threshold_mb * MB,
        }
      : null;
    this.redis = { url: shape.redis.url, failOpen: shape.redis.fail_open };
    this.auth = {
      adminKey: shape.auth.admin_key,
      cacheTtlMs: shape.auth.cache_ttl_ms,
      sessionTtlMs: Math.max(1_000, Math.round(shape.auth.session_ttl_hours * 3_600_000)),
    };
    this.metricsToken = shape.metrics.token;
    this.guest = {
      enabled: shape.guest.enabled,
      rpmPerIp: shape.guest.rpm_per_ip,
      dailyBudgetUsd: shape.guest.daily_budget_usd,
      scope: shape.guest.scope,
    };
    this.upstream = {
      maxRetries: shape.upstream.max_retries,
      timeoutMs: shape.upstream.timeout_ms,
      idleTimeoutMs: shape.upstream.idle_timeout_ms,
      pingIntervalMs: shape.upstream.ping_interval_ms,
    };
    this.providers = new Map(
      Object.entries(shape.providers).map(([name, p]) => [
        name,
        {
          name,
          baseUrl: p.base_url ? normaliseBaseUrl(name, p.base_url) : null,
          apiKey: p.api_key,
          keyless: p.keyless,
          headers: p.headers,
          configured: !!p.base_url && (p.keyless || !!p.api_key),
        },
      ]),
    );
    this.models = shape.models;
    this.modelAliases = new Map(Object.entries(shape.model_aliases));
    this.compat = { luma: { model: shape.compat.luma.model } };
    this.defaults = { model: shape.defaults.model, sessionIdleMinutes: shape.defaults.session_idle_minutes };
    this.files = { imageDelivery: shape.files.image_delivery };
    this.memory = { maxPromptTokens: shape.memory.max_prompt_tokens, maxPerUser: shape.memory.max_per_user };
    this.tools = {
      allow: { user: shape.tools.allow.user, admin: shape.tools.allow.admin },
      pluginsDir: shape.tools.plugins_dir ? resolve(shape.tools.plugins_dir) : join(this.rootDir, 'config', 'tools'),
      timeoutMs: shape.tools.timeout_ms,
      maxResultTokens: shape.tools.max_result_tokens,
      maxRounds: shape.tools.max_rounds,
    };
    this.mcpServers = shape.mcp_servers;
    const local = shape.local;
    this.local = {
      listed: local.listed,
      modelsDir: join(this.dataDir, 'models'),
      idleUnloadMs: Math.round(local.idle_unload_minutes * 60_000),
      queueMax: local.queue_max,
      maxMemoryBytes: local.max_memory_mb ? local.max_memory_mb * MB : null,
      gpu: local.gpu,
      sampling: { temperature: local.temperature, topP: local.top_p, topK: local.top_k, repeatPenalty: local.repeat_penalty },
      safetyMargin: local.safety_margin,
    };
    this.jobs = { concurrency: shape.jobs.concurrency, leaseMs: shape.jobs.lease_ms, maxAttempts: shape.jobs.max_attempts };
    this.limits = {
      maxInputTokens: limits.max_input_tokens,
      maxFileBytes: Math.round(limits.max_file_mb * MB),
      maxFilesPerRequest: limits.max_files_per_request,
      maxUnzippedBytes: Math.round(limits.max_unzipped_mb * MB),
      maxPdfPages: limits.max_pdf_pages,
      extractionTimeoutMs: limits.extraction_timeout_ms,
      maxFileTokens: limits.max_file_tokens,
      maxAttachmentTokens: limits.max_attachment_tokens,
      rate: { rpm: limits.rate.rpm, tpm: limits.rate.tpm, defaultOutputTokens: limits.rate.default_output_tokens },
    };
  }

  /** The effective configuration with every secret replaced, for GET /config. */
  redacted(): Record<string, unknown> {
    return redact(structuredClone(this.shape)) as Record<string, unknown>;
  }
}

function normaliseBaseUrl(provider: string, url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  // Ollama users often give the server's root; its OpenAI-compatible API lives under /v1.
  return provider === 'ollama' && !/\/v1$/.test(trimmed) ? `${trimmed}/v1` : trimmed;
}

const SECRET_KEY = /(key|secret|token|password)$/i;

/**
 * The shape with every secret replaced: values of keys named like secrets, provider headers, and
 * in every string that is an absolute URL (whatever its key) the userinfo and query values, where
 * keys and tokens hide in practice (user:password@, ?api-key=, ?password=, signed URLs).
 */
export function redact(value: unknown, key = ''): unknown {
  if (value === null || value === undefined) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (typeof value === 'object') {
    // Header values and an MCP server's environment are where its secrets are written.
    if (key === 'headers' || key === 'env') return Object.fromEntries(Object.keys(value).map((k) => [k, '[redacted]']));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  }
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key) && !key.endsWith('_env')) return '[redacted]';
    return redactUrl(value);
  }
  return value;
}

/** A string that is not an absolute URL, or one with nothing secret in it, comes back unchanged. */
export function redactUrl(raw: string): string {
  if (!URL.canParse(raw)) return raw;
  const u = new URL(raw);
  if (!u.username && !u.password && !u.search && !u.hash) return raw;
  if (u.username) u.username = 'redacted';
  if (u.password) u.password = 'redacted';
  // Names stay (they say what was set); every value goes. A bare entry may be a key by itself.
  if (u.search) {
    u.search = u.search
      .slice(1)
      .split('&')
      .map((part) => (part === '' ? part : part.includes('=') ? `${part.slice(0, part.indexOf('='))}=redacted` : 'redacted'))
      .join('&');
  }
  if (u.hash) u.hash = 'redacted';
  return u.toString();
}
