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
  private readonly worker: Worker;
  private isReady = false;
  private closed = false;
  private gone = false;
  private readonly exited: Promise<void>;
  private pings = 0;
  private readonly pongs = new Map<number, () => void>();

  constructor(options: EmbeddedDatabaseOptions = {}) {
    if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
    this.worker = new Worker(WORKER_FILE, { workerData: { dataDir: options.dataDir ?? null, dumpFile: options.dumpFile ?? null } });
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        this.gone = true;
        resolve();
      }),
    );
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (event: WorkerEvent) => {
        if (event.type === 'ready') {
          this.isReady = true;
          resolve();
        } else if (event.type === 'failed') {
          reject(new Error(`the embedded database could not open: ${event.message}`));
        } else if (event.type === 'pong') {
          this.pongs.get(event.id)?.();
          this.pongs.delete(event.id);
        } else if (event.type === 'log') {
          options.onWarning?.(event.message);
        }
      });
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`the embedded database stopped (exit code ${code})`)));
    });
    // Whoever needs the database awaits `ready` and sees the failure there.
    this.ready.catch(() => undefined);
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
    const refused = this.closed || this.gone;
    if (!refused) this.worker.postMessage({ type: 'session', port: port2 }, [port2]);
    return new WorkerConnection(port1, refused);
  }

  /** Closes PGlite cleanly (it writes its data directory out) and ends the thread. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return this.exited;
    this.closed = true;
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
