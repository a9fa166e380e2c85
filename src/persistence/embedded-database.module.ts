import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { EmbeddedDatabase } from './embedded-database.js';

/** An embedded database already started by the caller (tests: from a migrated snapshot), or null. */
export const EMBEDDED_DATABASE = Symbol('EMBEDDED_DATABASE');

/** Hands PersistenceModule the embedded database the starter passed; global, as each module imports PersistenceModule itself. */
@Global()
@Module({})
export class EmbeddedDatabaseModule {
  static forRoot(embedded: EmbeddedDatabase | undefined): DynamicModule {
    return {
      module: EmbeddedDatabaseModule,
      providers: [{ provide: EMBEDDED_DATABASE, useValue: embedded ?? null }],
      exports: [EMBEDDED_DATABASE],
    };
  }
}
