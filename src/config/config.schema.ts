import { z } from 'zod';

// The shape of config/colloquy.yaml after environment overrides are applied. Keys are snake_case
// as written in YAML; AppConfig exposes them through typed getters.

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const nonNegative = z.coerce.number().min(0);
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? null : v))
  .nullish()
  .transform((v) => v ?? null);
const url = z
  .string()
  .trim()
  .transform((v) => (v === '' ? null : v))
  .nullish()
  .transform((v) => v ?? null)
  .refine((v) => v === null || URL.canParse(v), { message: 'must be a URL' });
const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  return v;
}, z.boolean());
const stringList = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : v,
  z.array(z.string().min(1)),
);

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const pricingSchema = z.strictObject({
  /** USD per 1M prompt tokens */
  input: nonNegative,
  /** USD per 1M completion tokens */
  output: nonNegative,
  /** USD per 1M cached prompt tokens; defaults to the input price */
  cached_input: nonNegative.optional(),
  /** Image models: USD per generated image, added to any token cost the upstream reports. */
  per_image: nonNegative.optional(),
  /** Audio models: USD per 1M audio tokens in the prompt / the answer; default: input / output. */
  audio_input: nonNegative.optional(),
  audio_output: nonNegative.optional(),
});

const modelSchema = z.strictObject({
  id: z.string().min(1),
  provider: z.string().min(1),
  upstream_id: z.string().min(1).optional(),
  description: z.string().optional(),
  /** chat: /chat and /v1/chat/completions; embedding: /v1/embeddings; image: /v1/images/generations. */
  type: z.enum(['chat', 'embedding', 'image']).default('chat'),
  /** Embedding models: the length of their vectors (informational; `dimensions` may ask for fewer). */
  dimensions: positiveInt.optional(),
  /** Required, except for a local model (its window comes from `context_size`). */
  context_window: positiveInt.optional(),
  max_output_tokens: positiveInt.default(4096),
  pricing: pricingSchema.default({ input: 0, output: 0 }),
  vision: bool.default(false),
  /**
   * Prompt tokens one image costs on this model, at low detail and at most at high detail
   * (default gpt-4o's: 85 and 1,445); admission holds the high figure for every image not sent low.
   */
  image_tokens: z.strictObject({ low: positiveInt, high: positiveInt }).optional(),
  tools: bool.default(true),
  fallbacks: z.array(z.string().min(1)).default([]),
  /** provider: local: the GGUF file, absolute or relative to DATA_DIR/models. */
  gguf: z.string().trim().min(1).optional(),
  /** provider: local: tokens per sequence; default the GGUF's trained context, at most 8,192. */
  context_size: positiveInt.optional(),
  /** provider: local: CPU threads; default half the available cores (at least 1). */
  threads: positiveInt.optional(),
  /** provider: local: layers offloaded to a GPU build, `auto` (what fits), `max`, or a number (0: CPU only). */
  gpu_layers: z.union([z.enum(['auto', 'max']), nonNegativeInt]).optional(),
  /** provider: local: sequences generated at once; more requests wait in the queue. */
  parallel: positiveInt.max(64).optional(),
  /** provider: local: unloaded after this long unused, instead of LOCAL_IDLE_UNLOAD_MINUTES (0: kept loaded). */
  idle_unload_minutes: z.coerce.number().min(0).optional(),
});

/** Models served in-process from GGUF files (provider `local`), and Llamalith's generation knobs. */
const localSchema = z.strictObject({
  /** A JSON file with Llamalith's `{"model_paths": {"key": "file.gguf"}}`; relative paths are relative to its folder. */
  models_config: optionalString,
  /** Llamalith's LLM_MODELS: the local model ids /v1/models lists (empty: all). */
  listed: stringList.default([]),
  /** A loaded model is unloaded after this long unused; 0 keeps it loaded. */
  idle_unload_minutes: z.coerce.number().min(0).default(30),
  /** Requests waiting per model beyond its `parallel` ones; more are refused with 429. */
  queue_max: nonNegativeInt.default(32),
  /** The memory a model may need to be loaded; default the memory free when it loads. */
  max_memory_mb: positiveInt.optional(),
  /** Which llama.cpp build to use: `auto` picks a GPU build when one is installed and works. */
  gpu: z.enum(['auto', 'cuda', 'vulkan', 'metal', 'off']).default('auto'),
  /** Sampling defaults when a request does not say (Llamalith's LLM_TEMP, LLM_TOP_P, LLM_TOP_K, LLM_REPEAT_PENALTY). */
  temperature: nonNegative.max(2).default(0.7),
  top_p: nonNegative.max(1).default(0.95),
  top_k: nonNegativeInt.default(40),
  repeat_penalty: nonNegative.default(1.1),
  /** Tokens kept free in the window when a request gives no max_tokens (Llamalith's LLM_SAFETY_MARGIN). */
  safety_margin: nonNegativeInt.default(128),
});

const providerSchema = z.strictObject({
  /** Ending in /v1 for OpenAI-compatible servers; Ollama's root URL gets /v1 appended. */
  base_url: url,
  api_key: optionalString,
  /** Read the key from this environment variable (for providers declared only in YAML). */
  api_key_env: optionalString,
  /** A provider such as Ollama that needs no key is usable without one. */
  keyless: bool.default(false),
  /** Extra headers sent upstream (for example OpenRouter's HTTP-Referer). */
  headers: z.record(z.string(), z.string()).default({}),
});

const rateSchema = z.strictObject({
  rpm: nonNegativeInt.default(60),
  tpm: nonNegativeInt.default(200_000),
  /** Tokens per minute holds this much for the answer of a call without max_tokens, until it settles. */
  default_output_tokens: positiveInt.default(1024),
});

const envValue = z.string();
const mcpServerName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'MCP server names are lowercase words (letters, digits, - and _)');
const mcpServerSchema = z.discriminatedUnion('type', [
  z.strictObject({
    name: mcpServerName,
    type: z.literal('stdio'),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    /** Added to the server's environment (PATH, HOME and the like are passed on); `${VAR}` is filled in from ours. */
    env: z.record(z.string(), envValue).default({}),
    cwd: optionalString,
    timeout_ms: positiveInt.optional(),
  }),
  z.strictObject({
    name: mcpServerName,
    type: z.literal('streamable-http'),
    url: z.string().refine((v) => URL.canParse(v), { message: 'must be a URL' }),
    /** Sent with every request; `${VAR}` is filled in from the environment (keep secrets there). */
    headers: z.record(z.string(), envValue).default({}),
    timeout_ms: positiveInt.optional(),
  }),
]);

/** Who may use which tools, by role: API names, `builtin`, `plugin`, `mcp` (every MCP tool), `mcp:<server>`, or `*`. */
const toolAllowSchema = z.strictObject({
  user: z.array(z.string().min(1)).default(['builtin']),
  admin: z.array(z.string().min(1)).default(['*']),
});

export const configSchema = z.strictObject({
  server: z.strictObject({
    port: port.default(3000),
    host: z.string().min(1).default('0.0.0.0'),
    cors_origins: stringList.default([]),
    max_body_mb: z.coerce.number().positive().max(1024).default(25),
    shutdown_grace_ms: nonNegativeInt.default(10_000),
    /** The most a client may take to send a whole request (headers and body); 0 turns it off. */
    request_timeout_ms: nonNegativeInt.default(30_000),
    log_level: z.enum(logLevels).default('info'),
    trust_proxy: bool.default(false),
  }),
  data_dir: z.string().min(1).default('./data'),
  /** Defaults to config/personas in the installation. */
  personas_dir: optionalString,
  database: z.strictObject({
    url: url,
    pool_size: positiveInt.default(10),
    prepared_statements: bool.default(true),
  }),
  storage: z.strictObject({
    s3: z.strictObject({
      bucket: optionalString,
      endpoint: url,
      region: z.string().min(1).default('us-east-1'),
      access_key_id: optionalString,
      secret_access_key: optionalString,
      force_path_style: bool.default(false),
      presign_ttl_seconds: positiveInt.max(7 * 24 * 3600).default(300),
      /** Files from this size on are sent with S3 multipart upload. */
      multipart_threshold_mb: positiveInt.default(8),
    }),
  }),
  redis: z.strictObject({
    url: url,
    /** When Redis is unreachable: keep serving with local counters (true) or refuse (false). */
    fail_open: bool.default(true),
  }),
  auth: z.strictObject({
    admin_key: optionalString.refine((v) => v === null || /^[\x21-\x7e]{16,256}$/.test(v), {
      message: 'must be 16 to 256 printable characters without spaces',
    }),
    /** How long a verified key is trusted before it is looked up again (revocation latency). */
    cache_ttl_ms: nonNegativeInt.max(60_000).default(2_000),
    /** How long a sign-in session lasts unused (each use extends it); fractions allowed. */
    session_ttl_hours: z.coerce
      .number()
      .positive()
      .max(24 * 365)
      .default(12),
  }),
  metrics: z.strictObject({
    token: optionalString,
  }),
  upstream: z.strictObject({
    max_retries: nonNegativeInt.max(10).default(2),
    timeout_ms: positiveInt.default(600_000),
    idle_timeout_ms: positiveInt.default(60_000),
    ping_interval_ms: positiveInt.default(15_000),
  }),
  providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'provider names are lowercase words'), providerSchema),
  models: z
    .array(modelSchema)
    .default([])
    .superRefine((models, ctx) => {
      models.forEach((m, i) => {
        if (m.provider === 'local' && !m.gguf)
          ctx.addIssue({ code: 'custom', path: [i, 'gguf'], message: 'a local model needs its GGUF file (gguf)' });
        if (m.provider !== 'local' && m.context_window === undefined) {
          ctx.addIssue({ code: 'custom', path: [i, 'context_window'], message: 'required (except for provider: local)' });
        }
      });
    }),
  local: localSchema.prefault({}),
  /**
   * Short names for models, usable wherever a model id is: `mistral: ollama/mistral`. Each points to
   * a catalog model, a persona or `<provider>/<model>`; checked against the catalog at start.
   */
  model_aliases: z
    .record(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'alias names are letters, digits and . _ : / - (at most 128)'),
      z.string().trim().min(1).max(256),
    )
    .nullish()
    .transform((v) => v ?? {}),
  defaults: z.strictObject({
    model: optionalString,
    session_idle_minutes: positiveInt.default(30),
  }),
  memory: z
    .strictObject({
      /** The most of a prompt that remembered facts may take (newest first). */
      max_prompt_tokens: positiveInt.default(1_000),
      /** Memories one user may keep; the oldest go first beyond it. */
      max_per_user: positiveInt.default(200),
    })
    .prefault({}),
  jobs: z
    .strictObject({
      /** Jobs this replica runs at once; 0: it only queues them (others run them). */
      concurrency: nonNegativeInt.default(2),
      /** A running job's lease, renewed while it runs; a lapsed lease means its worker is gone. */
      lease_ms: z.coerce.number().int().min(1_000).default(30_000),
      /** Claims per job before it fails as lost (a worker died each time). */
      max_attempts: positiveInt.default(3),
    })
    .prefault({}),
  tools: z
    .strictObject({
      allow: toolAllowSchema.prefault({}),
      /** Plugin tools: every *.mjs file here; default config/tools in the installation. */
      plugins_dir: optionalString,
      /** The most one tool call may take before it is stopped. */
      timeout_ms: positiveInt.default(30_000),
      /** Tool output beyond this many tokens is cut, with a visible marker, before a model reads it. */
      max_result_tokens: positiveInt.default(4_000),
      /** /chat rounds of tool calls when the request does not say (max_tool_rounds). */
      max_rounds: positiveInt.max(20).default(5),
    })
    .prefault({}),
  mcp_servers: z
    .array(mcpServerSchema)
    .default([])
    .refine((list) => new Set(list.map((s) => s.name)).size === list.length, { message: 'MCP server names must be unique' }),
  /**
   * Requests without an Authorization header acting as the built-in `guest` user (role user);
   * off by default. `scope: all`: every route a user may use (guests share what they store);
   * `stateless`: only the routes that store nothing (/v1/models, /v1/chat/completions,
   * /v1/embeddings, /chat/completion, /chat/stream, /embed).
   */
  guest: z
    .strictObject({
      enabled: bool.default(false),
      /** Guest requests per minute from one client IP (every guest request counts). */
      rpm_per_ip: nonNegativeInt.default(10),
      /** The guest user's budget per UTC day, shared by every guest. */
      daily_budget_usd: nonNegative.max(1_000_000_000).default(0.5),
      scope: z.enum(['all', 'stateless']).default('all'),
    })
    .prefault({}),
  /** The routes of the systems Colloquy replaces. */
  compat: z
    .strictObject({
      luma: z
        .strictObject({
          /** The model of POST /chat/completion and /chat/stream when the body names none. */
          model: z.string().trim().min(1).max(256).default('luma/therapist'),
        })
        .prefault({}),
    })
    .prefault({}),
  files: z.strictObject({
    /** How images reach a vision model: inline base64, or a presigned S3 URL the upstream fetches. */
    image_delivery: z.enum(['data_url', 'presigned_url']).default('data_url'),
  }),
  limits: z.strictObject({
    /** Largest prompt accepted, in tokens, whatever the model's context window. */
    max_input_tokens: positiveInt.default(1_000_000),
    max_file_mb: z.coerce.number().positive().default(20),
    max_files_per_request: positiveInt.default(10),
    max_unzipped_mb: z.coerce.number().positive().default(100),
    /** A PDF with more pages is refused (422) before any page is read. */
    max_pdf_pages: positiveInt.default(2000),
    /** How long one document may occupy an extraction worker before it is stopped (422). */
    extraction_timeout_ms: z.coerce.number().int().min(100).default(30_000),
    max_file_tokens: positiveInt.default(50_000),
    max_attachment_tokens: positiveInt.default(100_000),
    // prefault: a partial override (RATE_LIMIT_RPM alone) still gets the other default.
    rate: rateSchema.prefault({}),
  }),
});

export type ConfigShape = z.infer<typeof configSchema>;
export type ModelEntry = z.infer<typeof modelSchema>;
export type LocalShape = z.infer<typeof localSchema>;
export type McpServerEntry = z.infer<typeof mcpServerSchema>;
export type ProviderEntry = z.infer<typeof providerSchema>;
