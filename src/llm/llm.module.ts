import { Module } from '@nestjs/common';
import { LlmGateway } from './llm-gateway.service.js';
import { ModelCatalog } from './model-catalog.js';
import { ProviderRegistry } from './provider-registry.js';
import { TokenCounter } from './token-counter.js';

/** Upstream models: the catalog, the providers, the gateway that calls them, and the tokenizer. */
@Module({
  providers: [TokenCounter, ModelCatalog, ProviderRegistry, LlmGateway],
  exports: [TokenCounter, ModelCatalog, LlmGateway],
})
export class LlmModule {}
