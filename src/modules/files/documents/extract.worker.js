// Text extraction, run in a worker thread so that parsing a large document never stalls the
// event loop that serves requests. Plain ESM JavaScript, loaded by path: as it is under jest, and
// from dist/ after the build (which passes .js files through swc unchanged in meaning).
//
// Protocol. In: { id, kind: 'pdf' | 'docx' | 'text', buffer: ArrayBuffer (transferred), entries?,
// limits: { maxPdfPages, maxUnzippedBytes } }, where entries (DOCX only) are the members that
// zip-inspect.ts listed and vetted on the main thread: { name, method, compressedSize,
// uncompressedSize, dataOffset }, one per member JSZip will see.
// Out: { id, ok: true, text, pages } or { id, ok: false, error: { kind, message, pages? } }, with
// kind one of 'encrypted' | 'corrupt' | 'too_many_pages' (with `pages`, the PDF's count) |
// 'archive_lies' (a part inflates past its declared size) | 'archive_too_large' (the parts
// together inflate past maxUnzippedBytes) | 'failed' (a fault of ours, not the file's).
// Nothing is thrown across the boundary. The main thread bounds the time a job may take by
// terminating the worker.
import '../../../common/background-priority.js';
import { parentPort } from 'node:worker_threads';
import { createInflateRaw } from 'node:zlib';
import { decodeText, normaliseText } from './normalise-text.js';

// Loaded on first use: pdf.js costs ~100 ms to import and a text-only worker never needs it.
let pdfParse;
let mammoth;

// pdf.js can reject a promise nobody awaits on a malformed file. Left alone, that would kill the
// worker (and read as a server fault); the job itself still settles, or times out.
process.on('unhandledRejection', () => {});

parentPort.on('message', async (job) => {
  try {
    const { text, pages } = await extract(job.kind, Buffer.from(job.buffer), job.entries, job.limits);
    parentPort.postMessage({ id: job.id, ok: true, text: normaliseText(text), pages });
  } catch (err) {
    parentPort.postMessage({ id: job.id, ok: false, error: classify(err) });
  }
});

async function extract(kind, buffer, entries, limits) {
  switch (kind) {
    case 'pdf':
      return extractPdf(buffer, limits.maxPdfPages);
    case 'docx':
      return extractDocx(buffer, entries ?? [], limits.maxUnzippedBytes);
    case 'text':
      return { text: decodeText(buffer), pages: null };
    default:
      throw new ExtractionError('failed', `unknown kind ${kind}`);
  }
}

async function extractPdf(buffer, maxPages) {
  pdfParse ??= await load('pdf-parse');
  // isEvalSupported: false keeps pdf.js from compiling font programs from the file into functions.
  const parser = new pdfParse.PDFParse({ data: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length), isEvalSupported: false });
  try {
    // Opening reads the cross-reference table and the page tree's count, not the pages: refuse
    // a document with too many before paying for any of them. numPages is what getText walks.
    const doc = await parser.load();
    if (doc.numPages > maxPages) {
      throw new ExtractionError('too_many_pages', `${doc.numPages} pages, more than ${maxPages}`, { pages: doc.numPages });
    }
    const result = await parser.getText({ pageJoiner: '' });
    return { text: result.pages.map((p) => p.text).join('\n\n'), pages: result.total };
  } finally {
    await parser.destroy();
  }
}

async function extractDocx(buffer, entries, maxUnzippedBytes) {
  // Declared sizes were checked against the limits before the job was sent; a header can lie
  // about them, though, and JSZip would inflate a part whole before noticing. Inflate each part
  // here first, discarding the output, from the very bytes JSZip will read, and stop as soon as
  // one outgrows what it declared or all of them together outgrow the limit.
  const budget = { max: maxUnzippedBytes, used: 0 };
  for (const entry of entries) await assertInflatesWithin(buffer, entry, budget);
  mammoth ??= (await load('mammoth')).default;
  const result = await mammoth.extractRawText({ buffer });
  return { text: result.value, pages: null };
}

async function assertInflatesWithin(buffer, entry, budget) {
  const start = entry.dataOffset;
  const end = start + entry.compressedSize;
  if (end > buffer.length) throw new ExtractionError('corrupt', `${entry.name} runs past the end`);
  const spend = (bytes) => {
    budget.used += bytes;
    if (budget.used > budget.max) throw new ExtractionError('archive_too_large', `the parts expand past ${budget.max} bytes`);
  };
  if (entry.method === 0) {
    spend(entry.compressedSize);
    return;
  }
  if (entry.method !== 8) throw new ExtractionError('corrupt', `${entry.name} uses compression method ${entry.method}`);

  await new Promise((resolve, reject) => {
    const inflater = createInflateRaw();
    let produced = 0;
    let settled = false;
    const settle = (fn, value) => {
      if (settled) return;
      settled = true;
      fn(value);
    };
    inflater.on('data', (chunk) => {
      if (settled) return;
      produced += chunk.length;
      try {
        if (produced > entry.uncompressedSize) {
          throw new ExtractionError('archive_lies', `${entry.name} expands past its declared ${entry.uncompressedSize} bytes`);
        }
        spend(chunk.length);
      } catch (err) {
        inflater.destroy();
        settle(reject, err);
      }
    });
    inflater.on('end', () => settle(resolve));
    inflater.on('error', (err) => settle(reject, new ExtractionError('corrupt', `${entry.name}: ${err.message}`)));
    inflater.end(buffer.subarray(start, end));
  });
}

// A library that cannot load is the deployment's fault, not the file's: say so, as 'failed'.
async function load(name) {
  try {
    return await import(name);
  } catch (err) {
    throw new ExtractionError('failed', `cannot load ${name}: ${err?.message ?? err}`);
  }
}

class ExtractionError extends Error {
  constructor(kind, message, detail = {}) {
    super(message);
    this.kind = kind;
    this.detail = detail;
  }
}

function classify(err) {
  if (err instanceof ExtractionError) return { kind: err.kind, message: err.message, ...err.detail };
  const name = err?.name ?? '';
  const message = String(err?.message ?? err);
  if (name === 'PasswordException') return { kind: 'encrypted', message };
  // pdf.js names its format failures; mammoth and JSZip throw plain Errors for a broken archive
  // or a missing part. Anything that fails while parsing a file is, as far as the user can act
  // on it, a damaged file.
  return { kind: 'corrupt', message: `${name || 'Error'}: ${message}` };
}
