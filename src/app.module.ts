import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ErrorFilter } from './common/errors/error.filter.js';
import { ContentTypeGuard } from './common/http/content-type.guard.js';
import { validationPipe } from './common/http/validation.pipe.js';
import type { AppLogger } from './common/logging/logger.js';
import { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import type { RuntimeOptions } from './config/runtime-options.js';
import type { EmbeddedDatabase } from './persistence/embedded-database.js';
import { EmbeddedDatabaseModule } from './persistence/embedded-database.module.js';
import { AuthGuard } from './modules/access/auth.guard.js';
import { AccessModule } from './modules/access/access.module.js';
import { MeteringModule } from './metering/metering.module.js';
import { AuthModule } from './modules/auth/auth.module.js';
import { LlmModule } from './llm/llm.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { RedisModule } from './redis/redis.module.js';
import { ChatModule } from './modules/chat/chat.module.js';
import { CompatModule } from './modules/compat/compat.module.js';
import { CompletionsModule } from './modules/completions/completions.module.js';
import { EmbeddingsModule } from './modules/embeddings/embeddings.module.js';
import { ImagesModule } from './modules/images/images.module.js';
import { JobsModule } from './modules/jobs/jobs.module.js';
import { MemoriesModule } from './modules/memories/memories.module.js';
import { ConversationsModule } from './modules/conversations/conversations.module.js';
import { FilesModule } from './modules/files/files.module.js';
import { SessionsModule } from './modules/sessions/sessions.module.js';
import { HealthModule } from './modules/health/health.module.js';
import { ModelsModule } from './modules/models/models.module.js';
import { SystemModule } from './modules/system/system.module.js';
import { ToolsModule } from './modules/tools/tools.module.js';
import { UsageModule } from './modules/usage/usage.module.js';
import { UsersModule } from './modules/users/users.module.js';
import { PersistenceModule } from './persistence/persistence.module.js';
import { StorageModule } from './storage/storage.module.js';

/**
 * What the process that starts the server hands it besides configuration: tests pass an embedded
 * database started from a migrated snapshot and a banner sink, the CLI entry point passes nothing.
 */
export interface AppRuntimeOptions extends RuntimeOptions {
  embeddedDatabase?: EmbeddedDatabase;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: AppLogger, runtime: AppRuntimeOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config, logger, { banner: runtime.banner }),
        EmbeddedDatabaseModule.forRoot(runtime.embeddedDatabase),
        PersistenceModule,
        StorageModule,
        RedisModule,
        LlmModule,
        MetricsModule,
        UsersModule,
        AuthModule,
        MeteringModule,
        AccessModule,
        UsageModule,
        HealthModule,
        SystemModule,
        ModelsModule,
        CompletionsModule,
        EmbeddingsModule,
        ImagesModule,
        JobsModule,
        MemoriesModule,
        SessionsModule,
        ConversationsModule,
        FilesModule,
        ToolsModule,
        ChatModule,
        CompatModule,
      ],
      providers: [
        { provide: APP_PIPE, useValue: validationPipe },
        { provide: APP_FILTER, useClass: ErrorFilter },
        { provide: APP_GUARD, useExisting: AuthGuard },
        { provide: APP_GUARD, useClass: ContentTypeGuard },
      ],
    };
  }
}
