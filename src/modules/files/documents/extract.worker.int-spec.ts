import { Worker } from 'node:worker_threads';
import { documentFixture } from '../../../../test/support/documents.js';
import { minimalDocx } from '../../../../test/support/zip-writer.js';
import { readZipDirectory } from './zip-inspect.js';

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

  const docx = minimalDocx(['One paragraph of a minimal document.']);
  const entries = readZipDirectory(docx).entries.map(({ name, method, compressedSize, uncompressedSize, dataOffset }) => ({
    name,
    method,
    compressedSize,
    uncompressedSize,
    dataOffset,
  }));
  const total = entries.reduce((n, e) => n + e.uncompressedSize, 0);

  it('reads a DOCX whose parts inflate within the limit', async () => {
    const reply = await run('docx', docx, { maxPdfPages: 10, maxUnzippedBytes: total }, entries);
    expect(reply).toEqual({ id: expect.any(Number), ok: true, text: 'One paragraph of a minimal document.', pages: null });
  });

  it('counts the bytes it inflates against the limit for all parts together', async () => {
    const reply = await run('docx', docx, { maxPdfPages: 10, maxUnzippedBytes: total - 1 }, entries);
    expect(reply).toMatchObject({ ok: false, error: { kind: 'archive_too_large' } });
  });

  it('stops a part that inflates past its declared size', async () => {
    const understated = entries.map((e) => (e.name === 'word/document.xml' ? { ...e, uncompressedSize: 10 } : e));
    const reply = await run('docx', docx, { maxPdfPages: 10, maxUnzippedBytes: total }, understated);
    expect(reply).toMatchObject({ ok: false, error: { kind: 'archive_lies' } });
  });

  it('refuses a PDF over the page limit, saying how many pages it has', async () => {
    const reply = await run('pdf', documentFixture('report.pdf'), { maxPdfPages: 1, maxUnzippedBytes: 0 });
    expect(reply).toMatchObject({ ok: false, error: { kind: 'too_many_pages', pages: 2 } });
  });
});
