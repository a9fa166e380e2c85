import { mkdirSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';

export interface EmbeddedDatabaseOptions {
  /** PGlite's data directory (created if missing); without it and without a dump, in memory. */
  dataDir?: string;
  /** A `dumpDataDir()` tarball to start from, in memory (tests: a migrated snapshot). */
  dumpFile?: string;
  /** Where the worker's own warnings go. */
  onWarning?: (message: string) => void;
}

type WorkerEvent =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'closed' }
  | { type: 'pong'; id: number }
  | { type: 'log'; level: string; message: string };

// Beside this file in src/ (jest) and in dist/ (nest-cli copies it as an asset).
const WORKER_FILE = fileURLToPath(new URL('./pglite.worker.mjs', import.meta.url));

/**
 * The embedded PostgreSQL (PGlite) in a worker thread of its own, so that its initdb, the
 * migrations and its queries never block the event loop that answers HTTP (probes included).
 * `connect()` gives `pg` a duplex stream speaking the wire protocol to it; PGlite has a single
 * backend, so use a pool of one connection.
 */
export class EmbeddedDatabase {
  /** Resolves once PGlite is open (after initdb on a first start); rejects if it cannot open. */
  readonly ready: Promise<void>;
  private worker!: Worker;
  private isReady = false;
  private closed = false;
  private gone = false;
  private exited!: Promise<void>;
  private pings = 0;
  private readonly pongs = new Map<number, () => void>();
  /** While the thread is replaced (restart): the connections made meanwhile, handed to the new one. */
  private waiting: MessagePort[] | null = null;
  private restarting: Promise<void> | null = null;

  constructor(private readonly options: EmbeddedDatabaseOptions = {}) {
    if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
    this.ready = this.startWorker();
    // Whoever needs the database awaits `ready` and sees the failure there.
    this.ready.catch(() => undefined);
  }

  /** Its thread ended (it could not open, or died) while nobody closed it: restart() may bring it back. */
  get stopped(): boolean {
    return this.gone && !this.closed;
  }

  /** Its data lives in a directory (a restart finds it again), not only in memory. */
  get persistent(): boolean {
    return !!this.options.dataDir && !this.options.dumpFile;
  }

  private startWorker(): Promise<void> {
    const worker = new Worker(WORKER_FILE, { workerData: { dataDir: this.options.dataDir ?? null, dumpFile: this.options.dumpFile ?? null } });
    this.worker = worker;
    this.gone = false;
    this.exited = new Promise((resolve) =>
      worker.once('exit', () => {
        if (this.worker === worker) this.gone = true;
        resolve();
      }),
    );
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (event: WorkerEvent) => {
        if (event.type === 'ready') {
          this.isReady = true;
          resolve();
        } else if (event.type === 'failed') {
          reject(new Error(`the embedded database could not open: ${event.message}`));
        } else if (event.type === 'pong') {
          this.pongs.get(event.id)?.();
          this.pongs.delete(event.id);
        } else if (event.type === 'log') {
          this.options.onWarning?.(event.message);
        }
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the embedded database stopped (exit code ${code})`)));
    });
  }

  /**
   * Closes PGlite and opens the same data directory again in a fresh thread. PGlite's
   * WebAssembly memory only grows: after initdb and the migrations of a first start it holds
   * ~500 MB more than a fresh open of the same data, which a new thread gives back. Connections
   * made from the call on wait and are served by the new thread; `beforeClose` runs first, for
   * the caller to end the connections it holds (others still open are cut).
   */
  restart(beforeClose: () => void = () => undefined): Promise<void> {
    if (!this.persistent) return Promise.reject(new Error('only an embedded database kept in a directory can be reopened'));
    this.restarting ??= (async () => {
      this.waiting = [];
      this.isReady = false;
      beforeClose();
      await this.stopWorker();
      try {
        await this.startWorker();
      } catch (err) {
        // A thread that could not open is not left running: connections are refused from now on.
        await this.worker.terminate();
        await this.exited;
        throw err;
      } finally {
        const waiting = this.waiting;
        this.waiting = null;
        for (const port of waiting) {
          if (this.isReady && !this.closed) this.worker.postMessage({ type: 'session', port }, [port]);
          else port.close();
        }
      }
    })().finally(() => {
      this.restarting = null;
    });
    return this.restarting;
  }

  /** Open (initdb done), and neither closed nor stopped. */
  get available(): boolean {
    return this.isReady && !this.closed && !this.gone;
  }

  /**
   * A round trip to the database's thread, answered between two statements: it is alive and
   * responsive, whatever queue of queries waits for the one connection.
   */
  ping(): Promise<void> {
    if (!this.available)
      return Promise.reject(new Error(this.isReady ? 'the embedded database is closed' : 'the embedded database is still opening'));
    const id = ++this.pings;
    return new Promise<void>((resolve) => {
      this.pongs.set(id, resolve);
      this.worker.postMessage({ type: 'ping', id });
    });
  }

  /** A new connection for `pg` (its `stream` option). */
  connect(): Duplex {
    const { port1, port2 } = new MessageChannel();
    if (this.waiting && !this.closed) {
      // What is written meanwhile waits in the channel for the new thread.
      this.waiting.push(port2);
      return new WorkerConnection(port1, false);
    }
    const refused = this.closed || this.gone;
    if (!refused) this.worker.postMessage({ type: 'session', port: port2 }, [port2]);
    return new WorkerConnection(port1, refused);
  }

  /** Closes PGlite cleanly (it writes its data directory out) and ends the thread. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return this.exited;
    this.closed = true;
    await this.restarting?.catch(() => undefined);
    await this.stopWorker(timeoutMs);
  }

  private async stopWorker(timeoutMs = 10_000): Promise<void> {
    this.worker.postMessage({ type: 'close' });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const outcome = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') await this.worker.terminate();
  }
}

/**
 * What `pg` expects of a socket, over a MessagePort: each write is posted (pg writes whole
 * protocol messages), each answer pushed as received. A closed port reads as a lost connection.
 */
class WorkerConnection extends Duplex {
  constructor(
    private readonly port: MessagePort,
    private readonly refused: boolean,
  ) {
    super();
    port.on('message', (data: Uint8Array) => this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
    port.once('close', () => {
      if (this.destroyed) return;
      // After our own end the worker closing its side is the normal goodbye.
      if (this.writableEnded) {
        this.push(null);
        this.destroy();
      } else {
        this.destroy(connectionLost());
      }
    });
  }

  // pg calls these on a net.Socket.
  connect(): this {
    process.nextTick(() => (this.refused ? this.destroy(connectionLost()) : this.emit('connect')));
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  override _read(): void {
    // Answers are pushed as they arrive; PGlite answers only what was asked, so no backpressure.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const copy = new Uint8Array(chunk);
    this.port.postMessage(copy, [copy.buffer]);
    callback();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.port.postMessage(null);
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.port.close();
    callback(err);
  }
}

function connectionLost(): Error {
  return Object.assign(new Error('the embedded database closed the connection'), { code: 'ECONNRESET' });
}
