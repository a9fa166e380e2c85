import type { OnModuleDestroy } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { statSync, readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DomainError } from '../../common/errors/domain-error.js';
import type { AppConfig } from '../../config/app-config.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { UpstreamFailure } from '../llm-provider.js';
import { checkGguf, type LocalModelSpec } from './local-specs.js';

const WORKER_FILE = fileURLToPath(new URL('./llama.worker.mjs', import.meta.url));
const PROBE_FILE = fileURLToPath(new URL('./llama-probe.mjs', import.meta.url));
/** What a 429 from a full queue asks the client to wait. */
const QUEUE_RETRY_AFTER_SECONDS = 2;
const PROBE_TIMEOUT_MS = 120_000;
/** The most a model may take to load in its thread (a large one from a slow disk takes minutes). */
const LOAD_TIMEOUT_MS = 600_000;

export type LocalState = 'unloaded' | 'loading' | 'loaded' | 'unavailable';

/** A local model as /health and /v1/models/{id} show it. */
export interface LocalModelStatus {
  state: LocalState;
  /** Why it cannot answer (unavailable), or why its last load failed. */
  reason?: string;
  /** Memory it holds once loaded (weights and its context), estimated by llama.cpp's GGUF insights. */
  memory_bytes?: number;
  /** The GGUF's file name (its directory stays on the server). */
  file: string;
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

/** A refusal shown as is; `fallback`: the model's fallbacks may answer instead (it is unavailable or busy, the request is fine). */
function refused(
  kind: DomainError['kind'],
  message: string,
  code: string,
  extra: { retryAfterSeconds?: number; param?: string; fallback?: boolean } = {},
): UpstreamFailure {
  const { fallback, ...options } = extra;
  return new UpstreamFailure('refused', message, { refusal: new DomainError(kind, message, { code, ...options }), fallback });
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
  private readonly generations = new Map<string, { queue: EventQueue; started: (failure: UpstreamFailure | null) => void; finish: () => void }>();
  private idleTimer: NodeJS.Timeout | null = null;
  private nextId = 0;
  /** The app is shutting down: nothing loads any more. */
  private closed = false;

  constructor(
    readonly spec: LocalModelSpec,
    private readonly config: AppConfig,
    private readonly logger: AppLogger | null,
  ) {
    this.reason = spec.problem;
    if (spec.problem) {
      this.state = 'unavailable';
      logger?.warn({ model: spec.id, gguf: spec.gguf, reason: spec.problem }, 'local model unavailable');
    }
  }

  status(): LocalModelStatus {
    const probe = this.probe?.result;
    return {
      state: this.state,
      ...(this.reason ? { reason: this.reason } : {}),
      ...(this.state === 'loaded' && probe?.ok ? { memory_bytes: probe.cpuRam + probe.gpuVram } : {}),
      file: basename(this.spec.gguf),
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
      // A client that leaves while the model loads stops waiting (the load goes on for the next one).
      await untilAborted(this.ensureLoaded(), signal);
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
    let onStarted: (failure: UpstreamFailure | null) => void = () => undefined;
    const started = new Promise<UpstreamFailure | null>((resolve) => (onStarted = resolve));
    this.generations.set(id, {
      queue,
      started: (failure) => onStarted(failure),
      finish: () => {
        finished = true;
        this.generations.delete(id);
        signal.removeEventListener('abort', cancel);
        release();
      },
    });
    signal.addEventListener('abort', cancel, { once: true });
    worker.postMessage({ type: 'generate', id, messages, sampling });
    // Answered only once the prompt is counted and fits: a refusal is an error status, never a stream that fails at once.
    const failure = await started;
    if (failure) throw failure;
    return { next: () => queue.next(), cancel };
  }

  /** From the worker: routed to its generation; the sequence is free once `done` or `error` arrived. */
  private onEvent(event: WorkerEvent): void {
    if (!('id' in event)) return;
    const generation = this.generations.get(event.id);
    if (!generation) return;
    const { queue } = generation;
    if (event.type === 'done' || event.type === 'error') generation.finish();
    if (event.type === 'started') generation.started(null);
    else if (event.type === 'text') queue.push({ type: 'text', text: event.text });
    else if (event.type === 'done') {
      queue.push({ type: 'done', promptTokens: event.promptTokens, completionTokens: event.completionTokens, finishReason: event.finishReason });
    } else if (event.type === 'error') {
      const failure =
        event.code === 'context_length_exceeded'
          ? refused('invalid', event.message, 'context_length_exceeded', { param: 'messages' })
          : event.code === 'template_rejected'
            ? refused('invalid', event.message, 'template_rejected', { param: 'messages' })
            : new UpstreamFailure('bad_response', `the local model failed while generating (${event.message})`);
      generation.started(failure);
      queue.push(failure);
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
        { retryAfterSeconds: QUEUE_RETRY_AFTER_SECONDS, fallback: true },
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
    // Beyond setTimeout's 24.8 days a timer would fire at once: such a wait is "never".
    if (this.active === 0 && this.spec.idleUnloadMs > 0 && this.spec.idleUnloadMs < 2 ** 31 - 1 && this.state === 'loaded') {
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
    const checked = identity ? checkGguf(this.spec.gguf) : { problem: `its GGUF file ${basename(this.spec.gguf)} does not exist` };
    if (checked.problem) throw this.unavailable(checked.problem);
    this.state = 'loading';
    this.reason = null;
    if (this.probe?.identity !== identity) {
      const { result, settled } = await this.runProbe();
      // A probe killed from outside (its time limit, the OOM killer) or never started says nothing about the file: not kept.
      this.probe = settled ? { identity: identity!, result } : null;
      if (!result.ok) throw this.unavailable(`llama.cpp could not load its GGUF file ${basename(this.spec.gguf)} (${result.reason})`);
    }
    const probe = this.probe!.result;
    if (!probe.ok) throw this.unavailable(`llama.cpp could not load its GGUF file ${basename(this.spec.gguf)} (${probe.reason})`);
    const needed = probe.cpuRam;
    const free = this.config.local.maxMemoryBytes ?? availableMemory();
    if (needed > free) {
      this.state = 'unloaded';
      const limit = this.config.local.maxMemoryBytes ? 'LOCAL_MAX_MEMORY_MB allows' : 'are free';
      this.reason = `it needs ${mb(needed)} MB of memory to load, and ${mb(free)} MB ${limit}`;
      throw refused('unavailable', `The local model ${this.spec.id} is too large for the memory available: ${this.reason}.`, 'model_unavailable', {
        fallback: true,
      });
    }
    if (this.closed) throw new UpstreamFailure('aborted', 'The server is shutting down.');
    let worker: Worker;
    try {
      worker = new Worker(WORKER_FILE, {
        workerData: {
          gguf: this.spec.gguf,
          contextSize: this.spec.contextSize,
          threads: this.spec.threads,
          gpuLayers: this.spec.gpuLayers,
          parallel: this.spec.parallel,
          gpu: this.config.local.gpu,
        },
      });
    } catch (err) {
      throw this.unavailable(`its model thread could not be started (${(err as Error).message})`);
    }
    // Listeners are removed one by one: Worker keeps internal ones (removeAllListeners() would stop its messages).
    let onMessage: (event: WorkerEvent) => void = () => undefined;
    let onError: (err: Error) => void = () => undefined;
    let onExit: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(this.unavailable(`it did not load within ${LOAD_TIMEOUT_MS / 60_000} minutes`)), LOAD_TIMEOUT_MS);
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
      clearTimeout(timer);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    }
    if (this.closed) {
      await worker.terminate();
      throw new UpstreamFailure('aborted', 'The server is shutting down.');
    }
    worker.on('message', (event: WorkerEvent) => this.onEvent(event));
    worker.on('error', (err) => this.lost(worker, err.message));
    worker.on('exit', () => this.lost(worker, 'its model thread ended'));
    this.worker = worker;
    this.state = 'loaded';
    this.logger?.info(
      { model: this.spec.id, gguf: this.spec.gguf, memoryBytes: probe.cpuRam + probe.gpuVram, contextSize: this.spec.contextSize },
      'local model loaded',
    );
  }

  private unavailable(reason: string): UpstreamFailure {
    if (this.state !== 'unavailable' || this.reason !== reason) {
      this.logger?.warn({ model: this.spec.id, gguf: this.spec.gguf, reason }, 'local model unavailable');
    }
    this.state = 'unavailable';
    this.reason = reason;
    return refused('unavailable', `The local model ${this.spec.id} is unavailable: ${reason}.`, 'model_unavailable', { fallback: true });
  }

  /** The thread died: its generations fail, and the next request loads the model again. */
  private lost(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.logger?.error({ model: this.spec.id, reason: why }, 'local model thread lost');
    this.worker = null;
    this.state = 'unloaded';
    this.reason = `the last load ended: ${why}`;
    for (const { queue, started, finish } of [...this.generations.values()]) {
      finish();
      const failure = new UpstreamFailure('connection', `the local model stopped (${why})`);
      started(failure);
      queue.push(failure);
    }
  }

  private runProbe(): Promise<{ result: ProbeResult; settled: boolean }> {
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
      child.on('error', (error) => {
        clearTimeout(timer);
        resolve({ result: { ok: false, reason: `its loader could not be started (${error.message})` }, settled: false });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        try {
          resolve({ result: JSON.parse(out.trim().split('\n').at(-1) ?? '') as ProbeResult, settled: true });
        } catch {
          const said = err
            .trim()
            .split('\n')
            .filter(Boolean)
            .at(-1)
            ?.replace(/^.*?llama\.cpp\/src\//, '');
          const reason = `${signal ? `the loader was stopped by ${signal}` : `the loader exited with ${code}`}${said ? `: ${said}` : ''}`;
          resolve({ result: { ok: false, reason }, settled: signal !== 'SIGKILL' });
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
        worker.on('message', (event: WorkerEvent) => event.type === 'closed' && resolve());
        worker.once('exit', () => resolve());
      });
      worker.postMessage({ type: 'close' });
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000).unref())]);
      await worker.terminate();
    })().finally(() => (this.unloading = null));
    await this.unloading;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const waiter of this.waiting.splice(0)) waiter.reject(new UpstreamFailure('aborted', 'The server is shutting down.'));
    for (const { queue, started } of this.generations.values()) {
      const failure = new UpstreamFailure('aborted', 'The server is shutting down.');
      started(failure);
      queue.push(failure);
    }
    this.generations.clear();
    this.active = 0;
    await this.unload();
  }
}

/** The promise, or an abort failure as soon as the signal fires (the promise goes on unobserved). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new UpstreamFailure('aborted', 'The request was aborted.'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new UpstreamFailure('aborted', 'The request was aborted.'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The local models by id (LlmModule builds it from the specs the catalog was built with); their threads end with the app. */
export class LocalModels implements OnModuleDestroy {
  private readonly models = new Map<string, LocalModel>();

  constructor(specs: readonly LocalModelSpec[], config: AppConfig, logger: AppLogger | null = null) {
    for (const spec of specs) this.models.set(spec.id, new LocalModel(spec, config, logger));
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
      // Page cache the kernel can drop (the GGUF's own pages after an unload among it) is not in use.
      const inactive = Number(/^inactive_file (\d+)$/m.exec(readFileSync('/sys/fs/cgroup/memory.stat', 'utf8'))?.[1] ?? 0);
      const used = Number(readFileSync('/sys/fs/cgroup/memory.current', 'utf8').trim()) - inactive;
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
