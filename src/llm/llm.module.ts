import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { LlmGateway } from './llm-gateway.service.js';
import { ModelCatalog } from './model-catalog.js';
import { ProviderRegistry } from './provider-registry.js';
import { TokenCounter } from './token-counter.js';

/** Upstream models: the catalog, the providers, the gateway that calls them, and the tokenizer. */
@Module({
  providers: [
    TokenCounter,
    { provide: ModelCatalog, inject: [AppConfig], useFactory: (config: AppConfig) => new ModelCatalog(config) },
    {
      provide: ProviderRegistry,
      inject: [AppConfig, TokenCounter],
      useFactory: (config: AppConfig, tokens: TokenCounter) => ProviderRegistry.fromConfig(config, tokens),
    },
    LlmGateway,
  ],
  exports: [TokenCounter, ModelCatalog, LlmGateway],
})
export class LlmModule {}
