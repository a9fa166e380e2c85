import { Worker } from 'node:worker_threads';
import { documentFixture } from '../../../../test/support/documents.js';

/** The worker's protocol as extract.worker.js documents it, spoken directly. */
describe('extract.worker', () => {
  let worker: Worker;
  let nextId = 1;
  beforeAll(() => {
    worker = new Worker(new URL('./extract.worker.js', import.meta.url));
  });
  afterAll(() => worker.terminate());

  function run(kind: string, bytes: Buffer, limits: { maxPdfPages: number; maxUnzippedBytes: number }, entries?: unknown[]) {
    const id = nextId++;
    const buffer = new Uint8Array(bytes).buffer;
    return new Promise<any>((resolve) => {
      const onMessage = (reply: { id: number }) => {
        if (reply.id !== id) return;
        worker.off('message', onMessage);
        resolve(reply);
      };
      worker.on('message', onMessage);
      worker.postMessage({ id, kind, buffer, entries, limits }, [buffer]);
    });
  }

  it('refuses a PDF over the page limit, saying how many pages it has', async () => {
    const reply = await run('pdf', documentFixture('report.pdf'), { maxPdfPages: 1, maxUnzippedBytes: 0 });
    expect(reply).toMatchObject({ ok: false, error: { kind: 'too_many_pages', pages: 2 } });
  });
});
