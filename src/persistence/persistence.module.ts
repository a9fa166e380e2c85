import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { AppLogger } from '../common/logging/logger.js';
import { LOGGER } from '../common/logging/logger.token.js';
import { ErrorTranslator } from '../common/errors/error-translator.js';
import { DatabaseLifecycle } from './database-lifecycle.service.js';
import type { EmbeddedDatabase } from './embedded-database.js';
import { EMBEDDED_DATABASE } from './embedded-database.module.js';
import { PrismaErrorTranslator } from './prisma-errors.js';
import { TransactionRunner } from './transaction-runner.js';
import { PrismaService } from './prisma.service.js';

@Module({
  providers: [
    {
      provide: PrismaService,
      // Optional: a module built without EmbeddedDatabaseModule (no app root) opens its own database.
      inject: [AppConfig, LOGGER, { token: EMBEDDED_DATABASE, optional: true }],
      useFactory: (config: AppConfig, logger: AppLogger, embedded: EmbeddedDatabase | null | undefined) =>
        new PrismaService(
          {
            url: config.database.url,
            dataDir: config.dataDir,
            poolSize: config.database.poolSize,
            preparedStatements: config.database.preparedStatements,
            migrationsDir: config.migrationsDir,
            embedded: embedded ?? undefined,
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
