import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { AppLogger } from '../common/logging/logger.js';
import { LOGGER } from '../common/logging/logger.token.js';
import { LlmGateway } from './llm-gateway.service.js';
import { LocalModels } from './local/local-models.js';
import { localModelSpecs, type LocalModelSpec } from './local/local-specs.js';
import { ModelCatalog } from './model-catalog.js';
import { ProviderRegistry } from './provider-registry.js';
import { TokenCounter } from './token-counter.js';

/** The local entries with their GGUF headers read once, for the catalog, the provider and the host. */
const LOCAL_SPECS = Symbol('LOCAL_SPECS');

/** Upstream models: the catalog, the providers, the gateway that calls them, the local models, and the tokenizer. */
@Module({
  providers: [
    TokenCounter,
    { provide: LOCAL_SPECS, inject: [AppConfig], useFactory: (config: AppConfig) => localModelSpecs(config) },
    {
      provide: LocalModels,
      inject: [LOCAL_SPECS, AppConfig, LOGGER],
      useFactory: (specs: LocalModelSpec[], config: AppConfig, logger: AppLogger) => new LocalModels(specs, config, logger),
    },
    {
      provide: ModelCatalog,
      inject: [AppConfig, LOCAL_SPECS],
      useFactory: (config: AppConfig, specs: LocalModelSpec[]) => new ModelCatalog(config, undefined, specs),
    },
    {
      provide: ProviderRegistry,
      inject: [AppConfig, TokenCounter, LocalModels, LOCAL_SPECS],
      useFactory: (config: AppConfig, tokens: TokenCounter, models: LocalModels, specs: LocalModelSpec[]) =>
        ProviderRegistry.fromConfig(config, tokens, { models, specs }),
    },
    LlmGateway,
  ],
  exports: [TokenCounter, ModelCatalog, LlmGateway, LocalModels],
})
export class LlmModule {}
