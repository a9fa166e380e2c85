import { AppConfig } from '../config/app-config.js';
import { DomainError } from '../common/errors/domain-error.js';
import { ConfigError } from '../config/config.loader.js';
import { DEFAULT_IMAGE_TOKENS, type ImageTokens } from './part-bounds.js';
import { FREE, type Pricing } from './pricing.js';
import { join } from 'node:path';
import { loadPersonas, loadSmartHostProfiles, mergePersonas, SMART_HOST_FAMILY, type Persona } from './personas.js';
import { LOCAL_PROVIDER, localModelSpecs, type LocalModelSpec } from './local/local-specs.js';

export const ECHO_MODEL = 'colloquy/echo';
export const EMBED_MODEL = 'colloquy/embed';
export const IMAGE_MODEL = 'colloquy/image';
/** The built-in embedding model's vector length. */
export const EMBED_DIMENSIONS = 256;

/** What a model is for: chat models answer messages, embedding models turn text into vectors, image models draw. */
export type ModelKind = 'chat' | 'embedding' | 'image';
export const BUILTIN_PROVIDER = 'builtin';

/** Everything a request needs to know about the model it asked for. */
export interface ResolvedModel {
  /** The id the client asked for: a catalog model, a persona, or provider/<upstream id>. */
  id: string;
  kind: ModelKind;
  /** Embedding models: their vector length when the catalog says it. */
  dimensions: number | null;
  provider: string;
  upstreamId: string;
  pricing: Pricing;
  /** False for models reached by provider prefix outside the catalog: their cost is unknown. */
  priced: boolean;
  contextWindow: number;
  maxOutputTokens: number;
  vision: boolean;
  /** What one image costs in prompt tokens on this model (at low detail; at most otherwise). */
  imageTokens: ImageTokens;
  tools: boolean;
  fallbacks: readonly string[];
  persona: Persona | null;
}

export interface ModelListing {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  description?: string;
  /** Colloquy's additions to OpenAI's model object: what the entry is, and which one is the default. */
  kind: 'model' | 'persona' | 'embedding' | 'image';
  default?: true;
  /** An alias (model_aliases): the model id it stands for. */
  alias_for?: string;
}

const KIND_NAMES: Record<ModelKind, string> = { chat: 'a chat model', embedding: 'an embedding model', image: 'an image model' };
const KIND_ROUTES: Record<ModelKind, string> = { chat: '/v1/chat/completions', embedding: '/v1/embeddings', image: '/v1/images/generations' };

// Models reached by prefix are not in the catalog; assume a common modern window.
const UNLISTED_CONTEXT = 128_000;
const UNLISTED_MAX_OUTPUT = 4_096;

/** The catalog: configured models, personas over them, prefix routes, and the built-in echo (built by LlmModule's factory). */
export class ModelCatalog {
  private readonly models = new Map<string, ResolvedModel>();
  private readonly personas = new Map<string, Persona>();
  /** model_aliases: alias → the id it stands for (never another alias). */
  private readonly aliases = new Map<string, string>();
  private readonly created = Math.floor(Date.now() / 1000);
  readonly defaultModelId: string;

  /** Local model ids /v1/models does not list (LLM_MODELS names others); they still answer. */
  private readonly unlisted = new Set<string>();

  /**
   * `personas` are read from PERSONAS_DIR unless given (unit specs give them, and touch no disk);
   * `local` are the local entries with their GGUF headers read (LlmModule reads them once for the catalog and the host).
   */
  constructor(
    private readonly config: AppConfig,
    personas: readonly Persona[] = mergePersonas(
      loadPersonas(config.personasDir),
      loadSmartHostProfiles(join(config.rootDir, 'config', 'profiles.json')),
    ),
    local: readonly LocalModelSpec[] = localModelSpecs(config),
  ) {
    this.models.set(ECHO_MODEL, {
      id: ECHO_MODEL,
      kind: 'chat',
      dimensions: null,
      provider: BUILTIN_PROVIDER,
      upstreamId: ECHO_MODEL,
      pricing: FREE,
      priced: true,
      contextWindow: 1_000_000,
      maxOutputTokens: 100_000,
      vision: true,
      imageTokens: DEFAULT_IMAGE_TOKENS,
      tools: true,
      fallbacks: [],
      persona: null,
    });
    this.models.set(EMBED_MODEL, {
      id: EMBED_MODEL,
      kind: 'embedding',
      dimensions: EMBED_DIMENSIONS,
      provider: BUILTIN_PROVIDER,
      upstreamId: EMBED_MODEL,
      pricing: FREE,
      priced: true,
      contextWindow: 8_192,
      maxOutputTokens: 0,
      vision: false,
      imageTokens: DEFAULT_IMAGE_TOKENS,
      tools: false,
      fallbacks: [],
      persona: null,
    });
    this.models.set(IMAGE_MODEL, {
      id: IMAGE_MODEL,
      kind: 'image',
      dimensions: null,
      provider: BUILTIN_PROVIDER,
      upstreamId: IMAGE_MODEL,
      pricing: FREE,
      priced: true,
      contextWindow: 32_000,
      maxOutputTokens: 0,
      vision: false,
      imageTokens: DEFAULT_IMAGE_TOKENS,
      tools: false,
      fallbacks: [],
      persona: null,
    });
    if (config.providers.has(LOCAL_PROVIDER)) {
      throw new ConfigError(`providers.${LOCAL_PROVIDER}: the name is reserved for models served in-process (models with provider: local)`);
    }
    const localSpecs = new Map(local.map((spec) => [spec.id, spec]));
    for (const m of config.models) {
      const spec = m.provider === LOCAL_PROVIDER ? localSpecs.get(m.id) : undefined;
      if (!spec && !config.providers.has(m.provider)) {
        throw new ConfigError(`models: ${m.id} names an unknown provider '${m.provider}'`);
      }
      if (spec && config.local.listed.length && !config.local.listed.includes(m.id)) this.unlisted.add(m.id);
      this.models.set(m.id, {
        id: m.id,
        kind: m.type,
        dimensions: m.dimensions ?? null,
        provider: m.provider,
        upstreamId: spec ? m.id : (m.upstream_id ?? m.id),
        pricing: {
          input: m.pricing.input,
          output: m.pricing.output,
          cachedInput: m.pricing.cached_input ?? m.pricing.input,
          perImage: m.pricing.per_image ?? 0,
          ...(m.pricing.audio_input !== undefined ? { audioInput: m.pricing.audio_input } : {}),
          ...(m.pricing.audio_output !== undefined ? { audioOutput: m.pricing.audio_output } : {}),
        },
        priced: true,
        // A local model's window is its context size, enforced with its own tokenizer; it reads no images and calls no tools.
        contextWindow: spec ? spec.contextSize : m.context_window!,
        maxOutputTokens: spec ? spec.maxOutputTokens : m.max_output_tokens,
        vision: spec ? false : m.vision,
        imageTokens: m.image_tokens ?? DEFAULT_IMAGE_TOKENS,
        tools: spec ? false : m.tools,
        fallbacks: m.fallbacks,
        persona: null,
      });
    }
    for (const persona of personas) this.personas.set(persona.id, persona);
    for (const [alias, target] of config.modelAliases) {
      this.checkAlias(alias, target);
      this.aliases.set(alias, target);
    }
    this.defaultModelId = this.pickDefault();
  }

  /**
   * The model a request asked for (or the default chat model), or 404: model_not_found when it
   * does not exist, model_not_supported when it is of the other kind (an embedding model asked to
   * chat). Models reached by provider prefix are taken to be of the kind asked for.
   */
  resolve(id: string | undefined | null, kind: ModelKind = 'chat'): ResolvedModel {
    const requested = id ?? (kind === 'chat' ? this.defaultModelId : this.defaultOf(kind));
    // An alias is the model it names: that id is what answers, is priced, limited and metered.
    const target = this.aliases.get(requested) ?? requested;
    const persona = kind === 'chat' ? this.personas.get(target) : undefined;
    const model = persona
      ? { ...this.resolveBase(persona.model ?? this.defaultModelId, requested, kind), id: target, persona }
      : this.resolveBase(target, requested, kind);
    if (model.kind !== kind) {
      const why = `${KIND_NAMES[model.kind]}, not ${KIND_NAMES[kind]}; use it with ${KIND_ROUTES[model.kind]}`;
      throw new DomainError('not_found', `The model '${requested}' is ${why}.`, { param: 'model', code: 'model_not_supported' });
    }
    return model;
  }

  /**
   * The model id a Smart-Host style `{provider, model}` names: the catalog model of that provider
   * with that id or upstream id, else the provider-prefixed id (reached unpriced). Without a model:
   * the default model when it is that provider's, else the provider's first catalog model of the kind.
   */
  idWithin(provider: string, model: string | undefined | null, kind: ModelKind = 'chat'): string {
    if (!this.usable(provider)) {
      throw new DomainError('not_found', `The provider '${provider}' is not configured.`, { param: 'provider', code: 'provider_not_found' });
    }
    const own = [...this.models.values()].filter((m) => m.provider === provider && m.kind === kind);
    if (model) return own.find((m) => m.id === model || m.upstreamId === model)?.id ?? `${provider}/${model}`;
    const fallback = kind === 'chat' && this.models.get(this.defaultModelId)?.provider === provider ? this.defaultModelId : own[0]?.id;
    if (!fallback) throw new DomainError('invalid', `Name a model of the provider '${provider}': it has none in the catalog.`, { param: 'model' });
    return fallback;
  }

  /** Whether the id is a catalog model, a persona or an alias (for bounded metric labels). */
  isKnown(id: string): boolean {
    return this.models.has(id) || this.personas.has(id) || this.aliases.has(id);
  }

  /** A persona by id, for `profile` on /chat (a Smart-Host profile name, `programmer`, is its smart-host/ persona); 404 when unknown. */
  persona(id: string): Persona {
    const persona = this.personas.get(id) ?? (id.includes('/') ? undefined : this.personas.get(`${SMART_HOST_FAMILY}/${id.toLowerCase()}`));
    if (!persona) {
      throw new DomainError('not_found', `The profile '${id}' does not exist.`, { param: 'profile', code: 'profile_not_found' });
    }
    return persona;
  }

  /** What GET /v1/models lists: usable catalog models, the personas, and the echo model. */
  list(): ModelListing[] {
    const out: ModelListing[] = [];
    for (const model of this.models.values()) {
      if (!this.usable(model.provider) || this.unlisted.has(model.id)) continue;
      out.push(this.listing(model));
    }
    for (const persona of this.personas.values()) {
      if (!this.personaUsable(persona)) continue;
      out.push({ id: persona.id, object: 'model', created: this.created, owned_by: 'colloquy', description: persona.description, kind: 'persona' });
    }
    // An alias is listed where what it names is usable, as that entry under the alias's name.
    const listed = new Map(out.map((m) => [m.id, m]));
    for (const [alias, target] of this.aliases) {
      const entry = listed.get(target) ?? this.prefixListing(target);
      if (!entry) continue;
      const { default: _default, ...rest } = entry;
      out.push({ ...rest, id: alias, alias_for: target });
    }
    return out;
  }

  get(id: string): ModelListing {
    const found = this.list().find((m) => m.id === id) ?? (this.unlisted.has(id) ? this.listing(this.models.get(id)!) : undefined);
    if (!found) throw notFound(id);
    return found;
  }

  private listing(model: ResolvedModel): ModelListing {
    return {
      id: model.id,
      object: 'model',
      created: this.created,
      owned_by: model.provider === BUILTIN_PROVIDER ? 'colloquy' : model.provider,
      kind: model.kind === 'chat' ? 'model' : model.kind,
      ...(model.id === this.defaultModelId ? { default: true as const } : {}),
    };
  }

  private resolveBase(base: string, requested: string, kind: ModelKind): ResolvedModel {
    // A persona's `model` may be an alias too.
    const id = this.aliases.get(base) ?? base;
    const known = this.models.get(id);
    if (known) {
      if (!this.usable(known.provider)) {
        throw new DomainError('not_found', `The model '${requested}' is not available: its provider ${known.provider} is not configured.`, {
          param: 'model',
          code: 'model_not_found',
        });
      }
      return known;
    }
    const slash = id.indexOf('/');
    const provider = slash > 0 ? id.slice(0, slash) : '';
    if (provider && provider !== LOCAL_PROVIDER && id.length > slash + 1 && this.usable(provider)) {
      return {
        id,
        kind,
        dimensions: null,
        provider,
        upstreamId: id.slice(slash + 1),
        pricing: FREE,
        priced: false,
        contextWindow: UNLISTED_CONTEXT,
        maxOutputTokens: UNLISTED_MAX_OUTPUT,
        vision: true,
        imageTokens: DEFAULT_IMAGE_TOKENS,
        tools: true,
        fallbacks: [],
        persona: null,
      };
    }
    throw notFound(requested);
  }

  /** The listing of a provider/<model> id outside the catalog, when its provider is usable. */
  private prefixListing(id: string): ModelListing | null {
    const provider = id.slice(0, Math.max(id.indexOf('/'), 0));
    if (!provider || !this.usable(provider)) return null;
    return { id, object: 'model', created: this.created, owned_by: provider, kind: 'model' };
  }

  /**
   * An alias may not hide a model, a persona or a provider prefix, and must name something that
   * exists: a catalog model, a persona, or <provider>/<model> of a declared provider (usable once
   * that provider is configured, like the catalog's own models). Anything else stops the server.
   */
  private checkAlias(alias: string, target: string): void {
    const at = `model_aliases.${alias}`;
    if (this.models.has(alias)) throw new ConfigError(`${at}: the alias would hide the catalog model '${alias}'`);
    if (this.personas.has(alias)) throw new ConfigError(`${at}: the alias would hide the persona '${alias}'`);
    const prefix = alias.includes('/') ? alias.slice(0, alias.indexOf('/')) : '';
    if (prefix && this.config.providers.has(prefix)) {
      throw new ConfigError(`${at}: the alias would hide the provider prefix '${prefix}/' (name it without the slash)`);
    }
    if (target === alias || this.config.modelAliases.has(target)) {
      throw new ConfigError(`${at}: '${target}' is an alias; point to the model itself`);
    }
    if (this.models.has(target) || this.personas.has(target)) return;
    const slash = target.indexOf('/');
    if (slash <= 0 || slash === target.length - 1) {
      throw new ConfigError(`${at}: '${target}' is not a catalog model, a persona or <provider>/<model>`);
    }
    const provider = target.slice(0, slash);
    if (!this.config.providers.has(provider)) throw new ConfigError(`${at}: '${target}' names an unknown provider '${provider}'`);
  }

  private usable(provider: string): boolean {
    return provider === BUILTIN_PROVIDER || provider === LOCAL_PROVIDER || this.config.providers.get(provider)?.configured === true;
  }

  private personaUsable(persona: Persona): boolean {
    try {
      return this.resolveBase(persona.model ?? this.defaultModelId, persona.id, 'chat').kind === 'chat';
    } catch {
      return false;
    }
  }

  /** The first configured model of a kind, else the built-in one. */
  private defaultOf(kind: 'embedding' | 'image'): string {
    for (const model of this.models.values()) {
      if (model.kind === kind && model.provider !== BUILTIN_PROVIDER && this.usable(model.provider)) return model.id;
    }
    return kind === 'image' ? IMAGE_MODEL : EMBED_MODEL;
  }

  private pickDefault(): string {
    const named = this.config.defaults.model;
    const configured = named ? (this.aliases.get(named) ?? named) : null;
    if (configured) {
      if (!this.models.has(configured) && !this.personas.has(configured) && !configured.includes('/')) {
        throw new ConfigError(`DEFAULT_MODEL (defaults.model): '${configured}' is not in the catalog`);
      }
      const kind = this.models.get(configured)?.kind;
      if (kind && kind !== 'chat') {
        throw new ConfigError(`DEFAULT_MODEL (defaults.model): '${configured}' is ${KIND_NAMES[kind]}, not a chat model`);
      }
      return configured;
    }
    for (const model of this.models.values()) {
      if (model.kind === 'chat' && model.provider !== BUILTIN_PROVIDER && this.usable(model.provider)) return model.id;
    }
    return ECHO_MODEL;
  }
}

function notFound(id: string): DomainError {
  return new DomainError('not_found', `The model '${id}' does not exist or you do not have access to it.`, {
    param: 'model',
    code: 'model_not_found',
  });
}
