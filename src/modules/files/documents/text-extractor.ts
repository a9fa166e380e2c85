import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { OnModuleDestroy } from '@nestjs/common';
import { DomainError } from '../../../common/errors/domain-error.js';
import type { DetectedType } from './content-type.js';
import { decodeText, normaliseText } from './normalise-text.js';
import { archiveTooLarge, assertArchiveWithinLimits, readZipDirectory, type ZipEntry, ZipFormatError } from './zip-inspect.js';

export interface ExtractLimits {
  /** The most a DOCX may expand to (limits.max_unzipped_mb). */
  maxUnzippedBytes: number;
  /** The most pages a PDF may have (limits.max_pdf_pages). */
  maxPdfPages: number;
}

export interface ExtractedText {
  /** null for images; '' for a document with no text layer (a scanned PDF). */
  text: string | null;
  /** PDF page count; null where the format does not fix pages (DOCX, text, images). */
  pages: number | null;
}

export interface TextExtractorOptions {
  /** Worker threads. Default: one per core but one (left to serve requests); never fewer than two. */
  poolSize?: number;
  /** How long one document may take, in ms, once a worker has picked it up (limits.extraction_timeout_ms). Default 30 s. */
  timeoutMs?: number;
  /** Documents that may wait for a worker, in all, before uploads are turned away with 503. Default 100. */
  maxQueued?: number;
  /** Documents one owner may have waiting, so that one user cannot fill the queue for everyone. Default 10. */
  maxQueuedPerOwner?: number;
  /** V8 heap ceiling of each worker, so a pathological file kills its worker, not the process. Default 512. */
  maxHeapMb?: number;
  /** Text files up to this size are decoded on the calling thread (a few ms), skipping the queue. Default 256 KiB. */
  inlineTextBytes?: number;
}

/** What the pool is doing, for health checks and tests. */
export interface ExtractorLoad {
  workers: number;
  running: number;
  queued: number;
}

type WorkerKind = 'pdf' | 'docx' | 'text';
type WorkerEntry = Pick<ZipEntry, 'name' | 'method' | 'compressedSize' | 'uncompressedSize' | 'dataOffset'>;
type WorkerReply =
  { id: number; ok: true; text: string; pages: number | null } | { id: number; ok: false; error: { kind: string; message: string; pages?: number } };

interface Job {
  id: number;
  owner: string;
  kind: WorkerKind;
  /** The caller's bytes; copied for the worker only when the job starts, so waiting costs no memory. */
  buffer: Buffer;
  entries?: WorkerEntry[];
  limits: ExtractLimits;
  resolve(value: ExtractedText): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  timer: NodeJS.Timeout | null;
  online: boolean;
}

const WORKER_URL = new URL('./extract.worker.js', import.meta.url);
const LABEL: Record<WorkerKind, string> = { pdf: 'PDF', docx: 'DOCX', text: 'text file' };

/**
 * Turns an upload into text for the model, off the main thread: pdf.js and mammoth are
 * synchronous for long stretches, and a 200-page PDF would otherwise stall every request in
 * flight. Workers are started on first use, reused, replaced when one crashes or overruns its
 * time, and unreferenced while idle so they never keep the process alive.
 *
 * Fair between owners (users): each has a queue, served in turn, and none may run on more than
 * all workers but one, so one user's pile of slow PDFs always leaves a worker for everyone else.
 * That is why there are at least two workers even on one core.
 *
 * Construct it with a factory (`useFactory`): its options are not injectable tokens.
 */
export class TextExtractor implements OnModuleDestroy {
  private readonly poolSize: number;
  private readonly perOwner: number;
  private readonly timeoutMs: number;
  private readonly maxQueued: number;
  private readonly maxQueuedPerOwner: number;
  private readonly maxHeapMb: number;
  private readonly inlineTextBytes: number;
  private readonly slots: Slot[] = [];
  /** Waiting jobs by owner; the Map's order is the turn order (an owner served goes to the back). */
  private readonly waiting = new Map<string, Job[]>();
  private readonly running = new Map<string, number>();
  private queued = 0;
  private nextId = 1;
  private closed = false;

  constructor(options: TextExtractorOptions = {}) {
    // The main thread keeps a core for requests; the floor of two is what fairness needs.
    this.poolSize = Math.max(2, options.poolSize ?? availableParallelism() - 1);
    this.perOwner = this.poolSize - 1;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxQueued = options.maxQueued ?? 100;
    this.maxQueuedPerOwner = options.maxQueuedPerOwner ?? 10;
    this.maxHeapMb = options.maxHeapMb ?? 512;
    this.inlineTextBytes = options.inlineTextBytes ?? 256 * 1024;
  }

  /** Extracts `buffer`'s text for `owner` (the uploading user's id, which the fair queue is keyed on). */
  async extract(owner: string, buffer: Buffer, type: DetectedType, limits: ExtractLimits): Promise<ExtractedText> {
    if (type.kind === 'image') return { text: null, pages: null };
    if (this.closed) throw shuttingDown();
    // Small text costs less to read here than a trip to a worker (and a wait behind PDFs);
    // a 20 MB one would hold the event loop for a third of a second, so it goes to a worker.
    if (type.kind === 'text' && buffer.length <= this.inlineTextBytes) return { text: normaliseText(decodeText(buffer)), pages: null };

    let entries: WorkerEntry[] | undefined;
    if (type.kind === 'docx') {
      // The zip-bomb guard reads only headers, here, before any byte is inflated, and lists
      // exactly what JSZip will read; the worker then inflates those bytes against the limits.
      let directory;
      try {
        directory = readZipDirectory(buffer);
      } catch (err) {
        if (err instanceof ZipFormatError) throw err.ambiguous ? suspicious('docx', err) : corrupt('docx', err);
        throw err;
      }
      assertArchiveWithinLimits(directory, { maxUnzippedBytes: limits.maxUnzippedBytes }, 'DOCX');
      entries = directory.entries.map(({ name, method, compressedSize, uncompressedSize, dataOffset }) => ({
        name,
        method,
        compressedSize,
        uncompressedSize,
        dataOffset,
      }));
    }

    const mine = this.waiting.get(owner);
    if (this.queued >= this.maxQueued || (mine?.length ?? 0) >= this.maxQueuedPerOwner) {
      throw new DomainError('unavailable', 'Too many documents are being read right now; try again shortly.', {
        code: 'extraction_busy',
        retryAfterSeconds: 5,
      });
    }
    return new Promise<ExtractedText>((resolve, reject) => {
      const job: Job = { id: this.nextId++, owner, kind: type.kind as WorkerKind, buffer, entries, limits, resolve, reject };
      if (mine) mine.push(job);
      else this.waiting.set(owner, [job]);
      this.queued++;
      this.pump();
    });
  }

  load(): ExtractorLoad {
    return { workers: this.slots.length, running: this.slots.filter((s) => s.job !== null).length, queued: this.queued };
  }

  /** Stops every worker; queued and running extractions fail with 503. */
  async close(): Promise<void> {
    this.closed = true;
    for (const jobs of this.waiting.values()) for (const job of jobs) job.reject(shuttingDown());
    this.waiting.clear();
    this.queued = 0;
    const slots = this.slots.splice(0);
    for (const slot of slots) this.release(slot)?.reject(shuttingDown());
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  private pump(): void {
    while (!this.closed && this.queued > 0) {
      const idle = this.slots.find((s) => s.job === null);
      if (!idle && this.slots.length >= this.poolSize) return;
      const job = this.take();
      if (!job) return; // everyone waiting already runs on their share of the workers
      this.start(idle ?? this.spawn(), job);
    }
  }

  /** The next job in turn, skipping owners who already run on all the workers they may. */
  private take(): Job | null {
    for (const [owner, jobs] of this.waiting) {
      if ((this.running.get(owner) ?? 0) >= this.perOwner) continue;
      const job = jobs.shift()!;
      this.waiting.delete(owner);
      if (jobs.length) this.waiting.set(owner, jobs);
      this.queued--;
      return job;
    }
    return null;
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb } });
    const slot: Slot = { worker, job: null, timer: null, online: false };
    worker.on('online', () => (slot.online = true));
    worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
    worker.on('error', (err) => this.onFailure(slot, err));
    worker.on('exit', (code) => this.onFailure(slot, new Error(`extraction worker exited with code ${code}`)));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private start(slot: Slot, job: Job): void {
    slot.job = job;
    this.running.set(job.owner, (this.running.get(job.owner) ?? 0) + 1);
    // Referenced while busy, so a script awaiting an extraction is not cut short.
    slot.worker.ref();
    slot.timer = setTimeout(() => this.onTimeout(slot), this.timeoutMs);
    // A private copy is transferred, so the caller's Buffer (still needed for storage) stays usable.
    const copy = new ArrayBuffer(job.buffer.length);
    new Uint8Array(copy).set(job.buffer);
    const { maxPdfPages, maxUnzippedBytes } = job.limits;
    slot.worker.postMessage({ id: job.id, kind: job.kind, buffer: copy, entries: job.entries, limits: { maxPdfPages, maxUnzippedBytes } }, [copy]);
  }

  /** Detaches the slot's job, if any, and gives its owner's share back. */
  private release(slot: Slot): Job | null {
    const job = slot.job;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    if (job) {
      const left = (this.running.get(job.owner) ?? 1) - 1;
      if (left > 0) this.running.set(job.owner, left);
      else this.running.delete(job.owner);
    }
    return job;
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    if (!slot.job || reply.id !== slot.job.id) return;
    const job = this.release(slot)!;
    slot.worker.unref();
    if (reply.ok) job.resolve({ text: reply.text, pages: reply.pages });
    else job.reject(toDomainError(reply.error, job));
    this.pump();
  }

  private onTimeout(slot: Slot): void {
    // Parsing is synchronous inside the worker; terminating it is the only way to stop.
    const job = this.retire(slot);
    job?.reject(new DomainError('unprocessable', 'The document took too long to read.', { code: 'extraction_timeout' }));
    this.pump();
  }

  private onFailure(slot: Slot, err: Error): void {
    if (!this.slots.includes(slot)) return; // already retired: 'exit' follows 'error'
    const wasOnline = slot.online;
    const job = this.retire(slot);
    if (job) job.reject(crashed(err, wasOnline));
    this.pump();
  }

  private retire(slot: Slot): Job | null {
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
    const job = this.release(slot);
    void slot.worker.terminate();
    return job;
  }
}

function toDomainError(error: { kind: string; message: string; pages?: number }, job: Job): DomainError {
  switch (error.kind) {
    case 'encrypted':
      return new DomainError('unprocessable', 'The PDF is password-protected; remove the password and upload it again.', {
        code: 'encrypted_file',
      });
    case 'corrupt':
      return corrupt(job.kind, error);
    case 'too_many_pages':
      return new DomainError('unprocessable', `The PDF has ${error.pages} pages; at most ${job.limits.maxPdfPages} are read.`, {
        code: 'too_many_pages',
      });
    case 'archive_lies':
      return new DomainError('unprocessable', `The ${LABEL[job.kind]} looks like a zip bomb: a part expands past the size it declares.`, {
        code: 'archive_suspicious',
      });
    case 'archive_too_large':
      return archiveTooLarge(LABEL[job.kind], job.limits.maxUnzippedBytes);
    default:
      return new DomainError('internal', `Text extraction failed: ${error.message}`);
  }
}

function corrupt(kind: WorkerKind, cause: unknown): DomainError {
  const label = LABEL[kind];
  return new DomainError('unprocessable', `The ${label} could not be read: it is damaged or not a ${label}.`, {
    code: 'corrupt_file',
    cause,
  });
}

function suspicious(kind: WorkerKind, cause: ZipFormatError): DomainError {
  return new DomainError(
    'unprocessable',
    `The ${LABEL[kind]} is built so that readers could disagree on what it holds (${cause.message}); it is refused.`,
    { code: 'archive_suspicious', cause },
  );
}

function shuttingDown(): DomainError {
  return new DomainError('unavailable', 'The server is shutting down; try again shortly.', { code: 'shutting_down' });
}

function crashed(err: Error, wasOnline: boolean): DomainError {
  if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new DomainError('unprocessable', 'The document needs too much memory to read.', { code: 'document_too_complex', cause: err });
  }
  // A worker that never came up is a deployment fault (say, the script missing from dist), not the file's.
  return new DomainError('internal', wasOnline ? 'The text extraction worker crashed.' : 'The text extraction worker could not start.', {
    cause: err,
  });
}
