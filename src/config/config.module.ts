import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { AppLogger } from '../common/logging/logger.js';
import { LOGGER } from '../common/logging/logger.token.js';
import { AppConfig } from './app-config.js';
import { RUNTIME_OPTIONS, type RuntimeOptions } from './runtime-options.js';

/** Provides what was built before Nest started: the validated config, the logger, runtime options. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, logger: AppLogger, runtime: RuntimeOptions): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: RUNTIME_OPTIONS, useValue: runtime },
      ],
      exports: [AppConfig, LOGGER, RUNTIME_OPTIONS],
    };
  }
}
