import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { pino } from 'pino';
import { startS3rver, type S3rverHandle } from '../../test/support/s3rver.js';
import { loadConfig } from '../config/config.loader.js';
import { ConfigModule } from '../config/config.module.js';
import { BlobStore } from './blob-store.js';
import { readAll } from './blob-store.contract.js';
import { LocalBlobStore } from './local-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';
import { StorageModule } from './storage.module.js';

describe('StorageModule', () => {
  let dir: string;
  let app: INestApplicationContext | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colloquy-storage-module-'));
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function boot(env: Record<string, string>): Promise<INestApplicationContext> {
    // An empty installation directory: no YAML file, only the environment given here.
    const config = loadConfig({ env: { DATA_DIR: join(dir, 'data'), ...env }, rootDir: dir });
    @Module({ imports: [ConfigModule.forRoot(config, pino({ level: 'silent' }), {}), StorageModule] })
    class TestModule {}
    return NestFactory.createApplicationContext(TestModule, { logger: false });
  }

  it('stores blobs under the data directory when no bucket is configured', async () => {
    app = await boot({});
    const blobs = app.get(BlobStore);

    expect(blobs).toBeInstanceOf(LocalBlobStore);
    expect((blobs as LocalBlobStore).root).toBe(join(dir, 'data', 'blobs'));
    await blobs.put('a/b', Buffer.from('local'));
    expect((await readAll(await blobs.get('a/b'))).toString()).toBe('local');
  });

  describe('with a bucket configured', () => {
    let server: S3rverHandle;

    beforeAll(async () => {
      server = await startS3rver({ bucket: 'colloquy-module' });
    });

    afterAll(async () => {
      await server?.stop();
    });

    it('uses S3 and closes the client on shutdown', async () => {
      app = await boot({
        S3_BUCKET: server.bucket,
        S3_ENDPOINT: server.endpoint,
        S3_ACCESS_KEY_ID: server.accessKeyId,
        S3_SECRET_ACCESS_KEY: server.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      });
      const blobs = app.get(BlobStore);
      const close = jest.spyOn(blobs, 'close');

      expect(blobs).toBeInstanceOf(S3BlobStore);
      await blobs.put('a/b', Buffer.from('remote'));
      expect((await readAll(await blobs.get('a/b'))).toString()).toBe('remote');

      await app.close();
      app = undefined;
      expect(close).toHaveBeenCalledTimes(1);
    });
  });
});
