import type { z } from 'zod';
import { AppConfig } from '../../src/config/app-config.js';
import { configSchema } from '../../src/config/config.schema.js';

export type ConfigInput = Partial<z.input<typeof configSchema>>;

/**
 * An AppConfig made in memory, for unit specs: no file, no environment, every default, and the
 * sections given in `overrides` (each section whole; what it leaves out takes its default).
 */
export function testConfig(overrides: ConfigInput = {}): AppConfig {
  const shape = configSchema.parse({
    server: {},
    database: {},
    storage: { s3: {} },
    redis: {},
    auth: {},
    metrics: {},
    upstream: {},
    providers: {},
    defaults: {},
    files: {},
    limits: {},
    ...overrides,
  });
  return new AppConfig(shape);
}
