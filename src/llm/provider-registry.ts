import { AppConfig } from '../config/app-config.js';
import { EchoProvider } from './echo.provider.js';
import type { LocalModels } from './local/local-models.js';
import { LocalProvider } from './local/local.provider.js';
import type { LocalModelSpec } from './local/local-specs.js';
import type { LlmProvider } from './llm-provider.js';
import { OpenAICompatibleProvider } from './openai-compatible.provider.js';
import { TokenCounter } from './token-counter.js';
import { upstreamFetch } from './upstream-fetch.js';

/** One provider instance (and one HTTP client) per configured upstream, built once. */
export class ProviderRegistry {
  private readonly providers = new Map<string, LlmProvider>();

  /** The providers by their names (fromConfig builds the real ones; unit specs pass fakes). */
  constructor(providers: Iterable<LlmProvider>) {
    for (const provider of providers) this.providers.set(provider.name, provider);
  }

  /** The built-in echo provider, one OpenAI-compatible provider per configured upstream, and the local one when local models are configured. */
  static fromConfig(config: AppConfig, tokens: TokenCounter, local?: { models: LocalModels; specs: readonly LocalModelSpec[] }): ProviderRegistry {
    const providers: LlmProvider[] = [new EchoProvider(tokens)];
    if (local?.specs.length) providers.push(new LocalProvider(local.models, local.specs, config));
    for (const settings of config.providers.values()) {
      if (!settings.configured) continue;
      providers.push(new OpenAICompatibleProvider(settings, { timeoutMs: config.upstream.timeoutMs, fetch: upstreamFetch }));
    }
    return new ProviderRegistry(providers);
  }

  get(name: string): LlmProvider {
    const provider = this.providers.get(name);
    if (!provider) throw new Error(`provider ${name} is not configured`);
    return provider;
  }
}
