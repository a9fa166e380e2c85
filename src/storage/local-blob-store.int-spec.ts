import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { blobStoreContract, readAll } from './blob-store.contract.js';
import { LocalBlobStore } from './local-blob-store.js';

describe('LocalBlobStore', () => {
  let dataDir: string;
  let store: LocalBlobStore;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'colloquy-blobs-'));
    store = new LocalBlobStore(dataDir, pino({ level: 'silent' }));
  });

  afterEach(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('contract', () => {
    blobStoreContract(() => ({
      store,
      leftovers: async (prefix) => {
        const dir = join(store.root, prefix);
        const entries = await readdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return null;
          throw err;
        });
        return entries === null ? [] : [`${prefix}/`, ...entries.map((e) => `${prefix}/${e}`)];
      },
    }));
  });

  it('keeps a blob as a plain file at <dataDir>/blobs/<key>, with no temp file beside it', async () => {
    await store.put('files/u-1/report.txt', Buffer.from('quarterly numbers'));

    expect(await readFile(join(dataDir, 'blobs', 'files', 'u-1', 'report.txt'), 'utf8')).toBe('quarterly numbers');
    expect(await readdir(join(dataDir, 'blobs', 'files', 'u-1'))).toEqual(['report.txt']);
  });

  it('lets readers see the old blob until a new write is complete', async () => {
    await store.put('doc', Buffer.from('old'));
    const slow = new PassThrough();
    const writing = store.put('doc', slow);
    slow.write('new, but not finished');
    await new Promise((resolve) => setImmediate(resolve));

    expect((await readAll(await store.get('doc'))).toString()).toBe('old');

    slow.end(' yet');
    await writing;
    expect((await readAll(await store.get('doc'))).toString()).toBe('new, but not finished yet');
  });

  it('has no content type and no presigned URLs', async () => {
    await store.put('a.txt', Buffer.from('a'), { contentType: 'text/plain' });
    expect(await store.head('a.txt')).toEqual({ size: 1, contentType: null });
    expect(await store.presignGet('a.txt', { filename: 'a.txt' })).toBeNull();
  });

  it('treats a key that names a directory of blobs as missing', async () => {
    await store.put('dir/inner', Buffer.from('x'));

    expect(await store.head('dir')).toBeNull();
    await expect(store.get('dir')).rejects.toMatchObject({ kind: 'not_found' });
    await expect(store.delete('dir')).resolves.toBeUndefined();
    expect(await store.head('dir/inner')).toMatchObject({ size: 1 });
  });

  it('refuses a key below an existing blob as a conflict and keeps nothing', async () => {
    await store.put('plain', Buffer.from('x'));

    await expect(store.put('plain/child', Buffer.from('y'))).rejects.toMatchObject({ kind: 'conflict' });
    expect(await readdir(store.root)).toEqual(['plain']);
  });

  it('fails the ping when the blob directory cannot be used', async () => {
    await expect(store.ping()).resolves.toBeUndefined();

    const broken = new LocalBlobStore(join(dataDir, 'not-a-dir'), pino({ level: 'silent' }));
    await mkdir(join(dataDir, 'not-a-dir'));
    await writeFile(join(dataDir, 'not-a-dir', 'blobs'), 'a file where the directory should be');
    const failure = broken.ping();

    await expect(failure).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(failure).rejects.not.toThrow(dataDir);
  });
});
