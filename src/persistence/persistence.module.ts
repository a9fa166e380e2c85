import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { RUNTIME_OPTIONS, type RuntimeOptions } from '../config/runtime-options.js';
import type { AppLogger } from '../common/logging/logger.js';
import { LOGGER } from '../common/logging/logger.token.js';
import { ErrorTranslator } from '../common/errors/error-translator.js';
import { DatabaseLifecycle } from './database-lifecycle.service.js';
import { PrismaErrorTranslator } from './prisma-errors.js';
import { TransactionRunner } from './transaction-runner.js';
import { PrismaService } from './prisma.service.js';

@Module({
  providers: [
    {
      provide: PrismaService,
      inject: [AppConfig, LOGGER, RUNTIME_OPTIONS],
      useFactory: (config: AppConfig, logger: AppLogger, runtime: RuntimeOptions) =>
        new PrismaService(
          {
            url: config.database.url,
            dataDir: config.dataDir,
            poolSize: config.database.poolSize,
            migrationsDir: config.migrationsDir,
            embedded: runtime.embeddedDatabase,
          },
          logger,
        ),
    },
    DatabaseLifecycle,
    TransactionRunner,
    { provide: ErrorTranslator, useClass: PrismaErrorTranslator },
  ],
  exports: [PrismaService, DatabaseLifecycle, TransactionRunner, ErrorTranslator],
})
export class PersistenceModule {}
