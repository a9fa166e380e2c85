import { Module, type OnApplicationShutdown } from '@nestjs/common';
import type { AppLogger } from '../common/logging/logger.js';
import { LOGGER } from '../common/logging/logger.token.js';
import { AppConfig } from '../config/app-config.js';
import { BlobStore } from './blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';

/**
 * Provides the BlobStore: S3 when a bucket is configured, the local data directory otherwise.
 * The S3 driver is imported only then: the AWS SDK costs ~40 MB of memory a local store never uses.
 */
@Module({
  providers: [
    {
      provide: BlobStore,
      inject: [AppConfig, LOGGER],
      useFactory: async (config: AppConfig, logger: AppLogger): Promise<BlobStore> =>
        config.s3 ? new (await import('./s3-blob-store.js')).S3BlobStore(config.s3, logger) : new LocalBlobStore(config.dataDir, logger),
    },
  ],
  exports: [BlobStore],
})
export class StorageModule implements OnApplicationShutdown {
  constructor(private readonly blobs: BlobStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.blobs.close();
  }
}
