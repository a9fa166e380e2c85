import type { OnModuleDestroy } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { statSync, readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DomainError } from '../../common/errors/domain-error.js';
import type { AppConfig } from '../../config/app-config.js';
import { UpstreamFailure } from '../llm-provider.js';
import { checkGguf, type LocalModelSpec } from './local-specs.js';

const WORKER_FILE = fileURLToPath(new URL('./llama.worker.mjs', import.meta.url));
const PROBE_FILE = fileURLToPath(new URL('./llama-probe.mjs', import.meta.url));
/** What a 429 from a full queue asks the client to wait. */
const QUEUE_RETRY_AFTER_SECONDS = 2;
const PROBE_TIMEOUT_MS = 120_000;

export type LocalState = 'unloaded' | 'loading' | 'loaded' | 'unavailable';

/** A local model as /health and /v1/models/{id} show it. */
export interface LocalModelStatus {
  state: LocalState;
  /** Why it cannot answer (unavailable), or why its last load failed. */
  reason?: string;
  /** Memory it holds once loaded (weights and its context), estimated by llama.cpp's GGUF insights. */
  memory_bytes?: number;
  gguf: string;
  context_size: number;
  parallel: number;
  /** Generations running, and requests waiting for a sequence. */
  active: number;
  waiting: number;
}

/** What a chat turn sends: roles folded to the three a chat template knows. */
export interface LocalMessage {
  role: 'system' | 'user' | 'assistant';
  text: string;
}

export interface LocalSampling {
  maxTokens: number | null;
  maxOutputTokens: number;
  safetyMargin: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number | null;
  repeatPenalty: number;
  frequencyPenalty: number;
  presencePenalty: number;
  stop: string[];
  /** OpenAI's logit_bias: token id → -100…100 (-100 bans it). */
  logitBias: Record<string, number>;
}

export type LocalEvent =
  { type: 'text'; text: string } | { type: 'done'; promptTokens: number; completionTokens: number; finishReason: 'stop' | 'length' | 'abort' };

/** One generation under way: events in order; cancel() stops it and frees its sequence. */
export interface LocalGeneration {
  next(): Promise<LocalEvent>;
  cancel(): void;
}

type ProbeResult = { ok: true; cpuRam: number; gpuVram: number; trainContextSize: number } | { ok: false; reason: string };
type WorkerEvent =
  | { type: 'loaded'; modelBytes: number }
  | { type: 'failed'; reason: string }
  | { type: 'closed' }
  | { type: 'started'; id: string; promptTokens: number }
  | { type: 'text'; id: string; text: string }
  | { type: 'done'; id: string; promptTokens: number; completionTokens: number; finishReason: 'stop' | 'length' | 'abort' }
  | { type: 'error'; id: string; code: string; message: string };

function refused(
  kind: DomainError['kind'],
  message: string,
  code: string,
  extra: { retryAfterSeconds?: number; param?: string } = {},
): UpstreamFailure {
  return new UpstreamFailure('refused', message, { refusal: new DomainError(kind, message, { code, ...extra }) });
}

/** A queue of waiting events with one reader (the generation's consumer). */
class EventQueue {
  private readonly items: Array<LocalEvent | UpstreamFailure> = [];
  private waiter: ((item: LocalEvent | UpstreamFailure) => void) | null = null;

  push(item: LocalEvent | UpstreamFailure): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(item);
    } else this.items.push(item);
  }

  async next(): Promise<LocalEvent> {
    const item = this.items.shift() ?? (await new Promise<LocalEvent | UpstreamFailure>((r) => (this.waiter = r)));
    if (item instanceof UpstreamFailure) throw item;
    return item;
  }
}

/**
 * One local model: loaded in its own thread on first use (after a probe in a child process has
 * proved the file loads and the memory it needs is free), `parallel` generations at once, the
 * rest waiting in order in a bounded queue, unloaded after LOCAL_IDLE_UNLOAD_MINUTES unused.
 */
class LocalModel {
  private state: LocalState = 'unloaded';
  private reason: string | null;
  private worker: Worker | null = null;
  private loading: Promise<void> | null = null;
  private unloading: Promise<void> | null = null;
  private probe: { identity: string; result: ProbeResult } | null = null;
  private active = 0;
  private readonly waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private readonly generations = new Map<string, { queue: EventQueue; finish: () => void }>();
  private idleTimer: NodeJS.Timeout | null = null;
  private nextId = 0;

  constructor(
    readonly spec: LocalModelSpec,
    private readonly config: AppConfig,
  ) {
    this.reason = spec.problem;
    if (spec.problem) this.state = 'unavailable';
  }

  status(): LocalModelStatus {
    const probe = this.probe?.result;
    return {
      state: this.state,
      ...(this.reason ? { reason: this.reason } : {}),
      ...(this.state === 'loaded' && probe?.ok ? { memory_bytes: probe.cpuRam + probe.gpuVram } : {}),
      gguf: this.spec.gguf,
      context_size: this.spec.contextSize,
      parallel: this.spec.parallel,
      active: this.active,
      waiting: this.waiting.length,
    };
  }

  async generate(messages: LocalMessage[], sampling: LocalSampling, signal: AbortSignal): Promise<LocalGeneration> {
    await this.acquire(signal);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.release();
    };
    try {
      await this.ensureLoaded();
    } catch (err) {
      release();
      throw err;
    }
    if (signal.aborted) {
      release();
      throw new UpstreamFailure('aborted', 'The request was aborted.');
    }
    const id = String(this.nextId++);
    const queue = new EventQueue();
    const worker = this.worker!;
    let finished = false;
    const cancel = () => {
      if (!finished) worker.postMessage({ type: 'cancel', id });
    };
    // The sequence is free once the worker says the generation ended, whether or not anyone still reads it.
    this.generations.set(id, {
      queue,
      finish: () => {
        finished = true;
        this.generations.delete(id);
        signal.removeEventListener('abort', cancel);
        release();
      },
    });
    signal.addEventListener('abort', cancel, { once: true });
    worker.postMessage({ type: 'generate', id, messages, sampling });
    return { next: () => queue.next(), cancel };
  }

  /** From the worker: routed to its generation; the sequence is free once `done` or `error` arrived. */
  private onEvent(event: WorkerEvent): void {
    if (!('id' in event)) return;
    const generation = this.generations.get(event.id);
    if (!generation) return;
    const { queue } = generation;
    if (event.type === 'done' || event.type === 'error') generation.finish();
    if (event.type === 'text') queue.push({ type: 'text', text: event.text });
    else if (event.type === 'done') {
      queue.push({ type: 'done', promptTokens: event.promptTokens, completionTokens: event.completionTokens, finishReason: event.finishReason });
    } else if (event.type === 'error') {
      queue.push(
        event.code === 'context_length_exceeded'
          ? refused('invalid', event.message, 'context_length_exceeded', { param: 'messages' })
          : new UpstreamFailure('bad_response', `the local model failed while generating (${event.message})`),
      );
    }
  }

  private async acquire(signal: AbortSignal): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.active < this.spec.parallel && !this.waiting.length) {
      this.active++;
      return;
    }
    if (this.waiting.length >= this.config.local.queueMax) {
      throw refused(
        'rate_limited',
        `The local model ${this.spec.id} is busy: ${this.active} requests are being answered and ${this.waiting.length} are waiting (LOCAL_QUEUE_MAX). Retry shortly.`,
        'local_queue_full',
        { retryAfterSeconds: QUEUE_RETRY_AFTER_SECONDS },
      );
    }
    await new Promise<void>((resolve, reject) => {
      const entry = {
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new UpstreamFailure('aborted', 'The request was aborted.'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) {
      next.resolve();
      return;
    }
    this.active--;
    if (this.active === 0 && this.spec.idleUnloadMs > 0 && this.state === 'loaded') {
      this.idleTimer = setTimeout(() => void this.unload(), this.spec.idleUnloadMs);
      this.idleTimer.unref();
    }
  }

  private async ensureLoaded(): Promise<void> {
    if (this.unloading) await this.unloading;
    if (this.state === 'loaded' && this.worker) return;
    this.loading ??= this.load().finally(() => (this.loading = null));
    await this.loading;
  }

  /** Checks the file (again: it may have been put in place since), probes it, checks memory, then loads it in a thread. */
  private async load(): Promise<void> {
    const identity = fileIdentity(this.spec.gguf);
    const checked = identity ? checkGguf(this.spec.gguf) : { problem: `its GGUF file ${this.spec.gguf} does not exist` };
    if (checked.problem) throw this.unavailable(checked.problem);
    this.state = 'loading';
    this.reason = null;
    if (this.probe?.identity !== identity) this.probe = { identity: identity!, result: await this.runProbe() };
    const probe = this.probe.result;
    if (!probe.ok) throw this.unavailable(`llama.cpp could not load its GGUF file ${this.spec.gguf} (${probe.reason})`);
    const needed = probe.cpuRam;
    const free = this.config.local.maxMemoryBytes ?? availableMemory();
    if (needed > free) {
      this.state = 'unloaded';
      const limit = this.config.local.maxMemoryBytes ? 'LOCAL_MAX_MEMORY_MB allows' : 'are free';
      this.reason = `it needs ${mb(needed)} MB of memory to load, and ${mb(free)} MB ${limit}`;
      throw refused('unavailable', `The local model ${this.spec.id} is too large for the memory available: ${this.reason}.`, 'model_unavailable');
    }
    const worker = new Worker(WORKER_FILE, {
      workerData: {
        gguf: this.spec.gguf,
        contextSize: this.spec.contextSize,
        threads: this.spec.threads,
        gpuLayers: this.spec.gpuLayers,
        parallel: this.spec.parallel,
        gpu: this.config.local.gpu,
      },
    });
    // Listeners are removed one by one: Worker keeps internal ones (removeAllListeners() would stop its messages).
    let onMessage: (event: WorkerEvent) => void = () => undefined;
    let onError: (err: Error) => void = () => undefined;
    let onExit: () => void = () => undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        onMessage = (event) => {
          if (event.type === 'loaded') resolve();
          else reject(this.unavailable(`llama.cpp could not load its GGUF file (${event.type === 'failed' ? event.reason : event.type})`));
        };
        onError = (err) => reject(this.unavailable(`its model thread failed while loading (${err.message})`));
        onExit = () => reject(this.unavailable('its model thread ended while loading'));
        worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      });
    } catch (err) {
      await worker.terminate();
      throw err;
    } finally {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    }
    worker.on('message', (event: WorkerEvent) => this.onEvent(event));
    worker.on('error', (err) => this.lost(worker, err.message));
    worker.on('exit', () => this.lost(worker, 'its model thread ended'));
    this.worker = worker;
    this.state = 'loaded';
  }

  private unavailable(reason: string): UpstreamFailure {
    this.state = 'unavailable';
    this.reason = reason;
    return refused('unavailable', `The local model ${this.spec.id} is unavailable: ${reason}.`, 'model_unavailable');
  }

  /** The thread died: its generations fail, and the next request loads the model again. */
  private lost(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.state = 'unloaded';
    this.reason = `the last load ended: ${why}`;
    for (const { queue, finish } of [...this.generations.values()]) {
      finish();
      queue.push(new UpstreamFailure('connection', `the local model stopped (${why})`));
    }
  }

  private runProbe(): Promise<ProbeResult> {
    const spec = {
      gguf: this.spec.gguf,
      contextSize: this.spec.contextSize,
      gpuLayers: this.spec.gpuLayers,
      parallel: this.spec.parallel,
      gpu: this.config.local.gpu,
    };
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [PROBE_FILE, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2_000)));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as ProbeResult);
        } catch {
          const said = err
            .trim()
            .split('\n')
            .filter(Boolean)
            .at(-1)
            ?.replace(/^.*?llama\.cpp\/src\//, '');
          resolve({
            ok: false,
            reason: `${signal ? `the loader was stopped by ${signal}` : `the loader exited with ${code}`}${said ? `: ${said}` : ''}`,
          });
        }
      });
    });
  }

  async unload(): Promise<void> {
    const worker = this.worker;
    if (!worker || this.active) return;
    this.worker = null;
    this.state = 'unloaded';
    this.unloading = (async () => {
      const closed = new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('exit', () => resolve());
      });
      worker.postMessage({ type: 'close' });
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000).unref())]);
      await worker.terminate();
    })().finally(() => (this.unloading = null));
    await this.unloading;
  }

  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const waiter of this.waiting.splice(0)) waiter.reject(new UpstreamFailure('aborted', 'The server is shutting down.'));
    for (const { queue } of this.generations.values()) queue.push(new UpstreamFailure('aborted', 'The server is shutting down.'));
    this.generations.clear();
    this.active = 0;
    await this.unload();
  }
}

/** The local models by id (LlmModule builds it from the specs the catalog was built with); their threads end with the app. */
export class LocalModels implements OnModuleDestroy {
  private readonly models = new Map<string, LocalModel>();

  constructor(specs: readonly LocalModelSpec[], config: AppConfig) {
    for (const spec of specs) this.models.set(spec.id, new LocalModel(spec, config));
  }

  get size(): number {
    return this.models.size;
  }

  has(id: string): boolean {
    return this.models.has(id);
  }

  status(id: string): LocalModelStatus | null {
    return this.models.get(id)?.status() ?? null;
  }

  statuses(): Record<string, LocalModelStatus> {
    return Object.fromEntries([...this.models].map(([id, model]) => [id, model.status()]));
  }

  generate(id: string, messages: LocalMessage[], sampling: LocalSampling, signal: AbortSignal): Promise<LocalGeneration> {
    const model = this.models.get(id);
    if (!model) throw refused('not_found', `The local model '${id}' does not exist.`, 'model_not_found', { param: 'model' });
    return model.generate(messages, sampling, signal);
  }

  /** Unloads every model now (tests of the lifecycle; shutdown). */
  async unloadAll(): Promise<void> {
    await Promise.all([...this.models.values()].map((m) => m.unload()));
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.models.values()].map((m) => m.close()));
  }
}

function fileIdentity(path: string): string | null {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    return null;
  }
}

/** Free memory, within this container's cgroup limit when it has one (os.freemem() sees the host's). */
export function availableMemory(): number {
  let free = freemem();
  try {
    const max = readFileSync('/sys/fs/cgroup/memory.max', 'utf8').trim();
    if (max !== 'max') {
      const used = Number(readFileSync('/sys/fs/cgroup/memory.current', 'utf8').trim());
      free = Math.min(free, Math.max(0, Number(max) - used));
    }
  } catch {
    // No cgroup v2 memory controller here: the machine's free memory is the bound.
  }
  return free;
}

function mb(bytes: number): number {
  return Math.ceil(bytes / (1024 * 1024));
}
