import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { EchoProvider } from './echo.provider.js';
import type { LlmProvider } from './llm-provider.js';
import { BUILTIN_PROVIDER } from './model-catalog.js';
import { OpenAICompatibleProvider } from './openai-compatible.provider.js';
import { TokenCounter } from './token-counter.js';
import { upstreamFetch } from './upstream-fetch.js';

/** One provider instance (and one HTTP client) per configured upstream, built once. */
@Injectable()
export class ProviderRegistry {
  private readonly providers = new Map<string, LlmProvider>();

  constructor(config: AppConfig, tokens: TokenCounter) {
    this.providers.set(BUILTIN_PROVIDER, new EchoProvider(tokens));
    for (const settings of config.providers.values()) {
      if (!settings.configured) continue;
      this.providers.set(
        settings.name,
        new OpenAICompatibleProvider(settings, { timeoutMs: config.upstream.timeoutMs, fetch: upstreamFetch }),
      );
    }
  }

  get(name: string): LlmProvider {
    const provider = this.providers.get(name);
    if (!provider) throw new Error(`provider ${name} is not configured`);
    return provider;
  }
}
