import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { OnModuleDestroy } from '@nestjs/common';
import { DomainError } from '../../../common/errors/domain-error.js';
import type { DetectedType } from './content-type.js';
import { assertArchiveWithinLimits, readZipDirectory, type ZipEntry, ZipFormatError } from './zip-inspect.js';

export interface ExtractLimits {
  /** The most a DOCX may expand to (limits.max_unzipped_mb). */
  maxUnzippedBytes: number;
}

export interface ExtractedText {
  /** null for images; '' for a document with no text layer (a scanned PDF). */
  text: string | null;
  /** PDF page count; null where the format does not fix pages (DOCX, text, images). */
  pages: number | null;
}

export interface TextExtractorOptions {
  /** Worker threads. Default: one per spare core, at most two, at least one. */
  poolSize?: number;
  /** How long one document may take, in ms, once a worker has picked it up. Default 60 s. */
  timeoutMs?: number;
  /** Documents that may wait for a free worker before uploads are turned away. Default 100. */
  maxQueued?: number;
  /** V8 heap ceiling of each worker, so a pathological file kills its worker, not the process. Default 512. */
  maxHeapMb?: number;
}

type WorkerKind = 'pdf' | 'docx' | 'text';
type WorkerEntry = Pick<ZipEntry, 'name' | 'method' | 'compressedSize' | 'uncompressedSize' | 'localHeaderOffset'>;
type WorkerReply =
  | { id: number; ok: true; text: string; pages: number | null }
  | { id: number; ok: false; error: { kind: string; message: string } };

interface Job {
  id: number;
  kind: WorkerKind;
  buffer: ArrayBuffer;
  entries?: WorkerEntry[];
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
 * Construct it with a factory (`useFactory`): its options are not injectable tokens.
 */
export class TextExtractor implements OnModuleDestroy {
  private readonly poolSize: number;
  private readonly timeoutMs: number;
  private readonly maxQueued: number;
  private readonly maxHeapMb: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: TextExtractorOptions = {}) {
    // The main thread keeps one core for requests; a second worker only pays where cores are spare.
    this.poolSize = Math.max(1, options.poolSize ?? Math.min(2, availableParallelism() - 1));
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxQueued = options.maxQueued ?? 100;
    this.maxHeapMb = options.maxHeapMb ?? 512;
  }

  async extract(buffer: Buffer, type: DetectedType, limits: ExtractLimits): Promise<ExtractedText> {
    if (type.kind === 'image') return { text: null, pages: null };
    if (this.closed) throw new DomainError('unavailable', 'The server is shutting down; try again shortly.', { code: 'shutting_down' });

    let entries: WorkerEntry[] | undefined;
    if (type.kind === 'docx') {
      // The zip-bomb guard reads only the central directory, here, before any byte is inflated.
      let directory;
      try {
        directory = readZipDirectory(buffer);
      } catch (err) {
        if (err instanceof ZipFormatError) throw corrupt('docx', err);
        throw err;
      }
      assertArchiveWithinLimits(directory, { maxUnzippedBytes: limits.maxUnzippedBytes }, 'DOCX');
      entries = directory.entries.map(({ name, method, compressedSize, uncompressedSize, localHeaderOffset }) => ({
        name,
        method,
        compressedSize,
        uncompressedSize,
        localHeaderOffset,
      }));
    }

    if (this.queue.length >= this.maxQueued) {
      throw new DomainError('unavailable', 'Too many documents are being read right now; try again shortly.', {
        code: 'extraction_busy',
        retryAfterSeconds: 5,
      });
    }
    // A private copy is transferred, so the caller's Buffer (still needed for storage) stays usable.
    const copy = new ArrayBuffer(buffer.length);
    new Uint8Array(copy).set(buffer);
    return new Promise<ExtractedText>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, kind: type.kind as WorkerKind, buffer: copy, entries, resolve, reject });
      this.pump();
    });
  }

  /** Stops every worker; queued and running extractions fail with 503. */
  async close(): Promise<void> {
    this.closed = true;
    const shuttingDown = (): DomainError =>
      new DomainError('unavailable', 'The server is shutting down; try again shortly.', { code: 'shutting_down' });
    for (const job of this.queue.splice(0)) job.reject(shuttingDown());
    const slots = this.slots.splice(0);
    for (const slot of slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.job?.reject(shuttingDown());
      slot.job = null;
    }
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      const slot = this.slots.find((s) => s.job === null) ?? (this.slots.length < this.poolSize ? this.spawn() : null);
      if (!slot) return;
      this.start(slot, this.queue.shift()!);
    }
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
    // Referenced while busy, so a script awaiting an extraction is not cut short.
    slot.worker.ref();
    slot.timer = setTimeout(() => this.onTimeout(slot), this.timeoutMs);
    slot.worker.postMessage({ id: job.id, kind: job.kind, buffer: job.buffer, entries: job.entries }, [job.buffer]);
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    const job = slot.job;
    if (!job || reply.id !== job.id) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    slot.worker.unref();
    if (reply.ok) job.resolve({ text: reply.text, pages: reply.pages });
    else job.reject(toDomainError(reply.error, job.kind));
    this.pump();
  }

  private onTimeout(slot: Slot): void {
    const job = slot.job;
    // Parsing is synchronous inside the worker; terminating it is the only way to stop.
    this.retire(slot);
    job?.reject(new DomainError('unprocessable', 'The document took too long to read.', { code: 'extraction_timeout' }));
    this.pump();
  }

  private onFailure(slot: Slot, err: Error): void {
    if (!this.slots.includes(slot)) return; // already retired: 'exit' follows 'error'
    const job = slot.job;
    const wasOnline = slot.online;
    this.retire(slot);
    if (job) job.reject(crashed(err, wasOnline));
    this.pump();
  }

  private retire(slot: Slot): void {
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    void slot.worker.terminate();
  }
}

function toDomainError(error: { kind: string; message: string }, kind: WorkerKind): DomainError {
  switch (error.kind) {
    case 'encrypted':
      return new DomainError('unprocessable', 'The PDF is password-protected; remove the password and upload it again.', {
        code: 'encrypted_file',
      });
    case 'corrupt':
      return corrupt(kind, error);
    case 'archive_lies':
      return new DomainError('unprocessable', `The ${LABEL[kind]} looks like a zip bomb: a part expands past the size it declares.`, {
        code: 'archive_suspicious',
      });
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

function crashed(err: Error, wasOnline: boolean): DomainError {
  if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new DomainError('unprocessable', 'The document needs too much memory to read.', { code: 'document_too_complex', cause: err });
  }
  // A worker that never came up is a deployment fault (say, the script missing from dist), not the file's.
  return new DomainError('internal', wasOnline ? 'The text extraction worker crashed.' : 'The text extraction worker could not start.', {
    cause: err,
  });
}
