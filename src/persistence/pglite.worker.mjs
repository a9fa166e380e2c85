// @ts-check
// The embedded database's own thread. PGlite is PostgreSQL compiled to WebAssembly and runs
// synchronously where it is called: in the main thread, its initdb (seconds on a first start),
// the migrations and every query would stall the HTTP server, probes included. Here it owns the
// PGlite instance and speaks the PostgreSQL wire protocol to the main thread over MessagePorts,
// one port per `pg` connection, so the server uses the same `pg` pool + Prisma adapter as on
// PostgreSQL. Plain JavaScript: it is started as a file by Node itself, both from dist/ and from
// src/ under jest, where no TypeScript loader exists.
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

/** @typedef {{ dataDir?: string | null, dumpFile?: string | null }} WorkerOptions */

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const options = /** @type {WorkerOptions} */ (workerData);

/** @type {PGlite | null} */
let db = null;
let closing = false;
/**
 * PGlite has one backend, shared by every `pg` connection at transaction boundaries (as a
 * transaction pooler does): a connection holds it from its first message until a ReadyForQuery
 * that says idle, so a transaction is never interleaved, while an idle connection (another
 * replica's pool in the tests, a pool keeping its client) blocks nobody. Nothing else of a
 * session is kept per connection: `pg` and Prisma's adapter use unnamed statements only.
 * @type {Session | null}
 */
let owner = null;
/**
 * Connections with messages waiting for the backend, in arrival order.
 * @type {Session[]}
 */
const ready = [];
/** Transaction status of the backend after its last answer ('I' idle, 'T' in a block, 'E' failed). */
let txStatus = 'I';
/** The backend answered everything it was sent (its last answer ended with ReadyForQuery). */
let atBoundary = true;
let pumping = false;
/** @type {Promise<void>} */
let idle = Promise.resolve();

class Session {
  /** @param {import('node:worker_threads').MessagePort} channel */
  constructor(channel) {
    this.channel = channel;
    this.started = false;
    this.ended = false;
    /** @type {Buffer} bytes of an incomplete message */
    this.partial = Buffer.alloc(0);
    /** @type {Buffer[]} complete messages not yet executed */
    this.inbox = [];
    channel.on('message', (/** @type {Uint8Array | null} */ data) => {
      if (data === null) return this.end();
      this.receive(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    });
    channel.on('close', () => this.end());
  }

  /** Splits what arrived into whole protocol messages. @param {Buffer} chunk */
  receive(chunk) {
    if (this.ended) return;
    this.partial = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    for (;;) {
      if (!this.started) {
        // The startup packet has no type byte: length, then the protocol version or a request code.
        if (this.partial.length < 8) break;
        const length = this.partial.readInt32BE(0);
        if (this.partial.length < length) break;
        const code = this.partial.readInt32BE(4);
        const packet = this.partial.subarray(0, length);
        this.partial = this.partial.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.send(Buffer.from('N'));
          continue;
        }
        if (code === CANCEL_REQUEST) return this.end();
        this.started = true;
        this.inbox.push(packet);
        continue;
      }
      if (this.partial.length < 5) break;
      const length = this.partial.readInt32BE(1) + 1;
      if (this.partial.length < length) break;
      const message = this.partial.subarray(0, length);
      this.partial = this.partial.subarray(length);
      // Terminate ends this connection, not the backend the other connections share.
      if (message[0] === 0x58) return this.end();
      this.inbox.push(message);
    }
    if (this.inbox.length && owner !== this && !ready.includes(this)) ready.push(this);
    pump();
  }

  /** @param {Uint8Array} bytes */
  send(bytes) {
    if (this.ended || !bytes.length) return;
    // A copy the receiving thread can own (PGlite's answer may be a view into its memory).
    const copy = new Uint8Array(bytes);
    this.channel.postMessage(copy, [copy.buffer]);
  }

  end() {
    if (this.ended) return;
    this.ended = true;
    this.inbox = [];
    this.channel.close();
    if (ready.includes(this)) ready.splice(ready.indexOf(this), 1);
    pump();
  }
}

/** Executes waiting messages, one connection at a time, handing the backend over at idle boundaries. */
function pump() {
  if (pumping || !db) return;
  pumping = true;
  idle = (async () => {
    try {
      for (;;) {
        if (owner?.ended) await reset();
        if (owner && owner.inbox.length === 0) {
          // Mid-request or inside a transaction: the backend waits for this connection only.
          if (!atBoundary || txStatus !== 'I') break;
          owner = null;
        }
        if (!owner) {
          const next = ready.shift();
          if (!next) break;
          owner = next;
        }
        const input = owner.inbox.length === 1 ? owner.inbox[0] : Buffer.concat(owner.inbox);
        owner.inbox = [];
        const output = await execute(input);
        if (output) owner.send(output);
        else owner.end();
      }
    } finally {
      pumping = false;
    }
  })();
}

/** @param {Uint8Array} input */
async function execute(input) {
  try {
    const output = await /** @type {PGlite} */ (db).execProtocolRaw(new Uint8Array(input));
    noteStatus(output);
    return output;
  } catch (err) {
    // The backend could not even answer: end that connection; its pool opens another.
    port.postMessage({ type: 'log', level: 'warn', message: `embedded database: ${/** @type {Error} */ (err).message}` });
    return null;
  }
}

/** Remembers whether an answer ended with ReadyForQuery ('Z'), and its transaction status. */
function noteStatus(/** @type {Uint8Array} */ output) {
  const view = Buffer.from(output.buffer, output.byteOffset, output.byteLength);
  let at = 0;
  let last = 0;
  while (at + 5 <= view.length) {
    last = view[at];
    const length = view.readInt32BE(at + 1);
    if (last === 0x5a && length === 5 && at + 6 <= view.length) txStatus = String.fromCharCode(view[at + 5]);
    at += 1 + length;
  }
  if (view.length) atBoundary = last === 0x5a;
}

/** A message of the frontend protocol. */
function message(/** @type {number} */ type, /** @type {string | null} */ text) {
  const body = text === null ? Buffer.alloc(0) : Buffer.from(`${text}\0`, 'utf8');
  const out = Buffer.alloc(5 + body.length);
  out[0] = type;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return new Uint8Array(out);
}

/**
 * The connection that held the backend is gone mid-request or mid-transaction: finish the one
 * (Sync) and roll the other back, so the next connection finds it idle.
 */
async function reset() {
  owner = null;
  if (!db || db.closed) return;
  if (!atBoundary) await execute(message(0x53, null));
  if (txStatus !== 'I') await execute(message(0x51, 'ROLLBACK'));
}

/**
 * PostgreSQL's default 128 MB of shared buffers lives in PGlite's WebAssembly memory, which is
 * never given back: an embedded instance took ~245 MB once open, ~125 MB with 32 MB of buffers.
 * The operating system still caches the data files below them.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'];

async function open() {
  if (options.dumpFile) {
    const dump = await readFile(options.dumpFile);
    return PGlite.create({ loadDataDir: new Blob([dump]), startParams: START_PARAMS });
  }
  return PGlite.create({ dataDir: options.dataDir ?? undefined, startParams: START_PARAMS });
}

async function close() {
  closing = true;
  for (const session of [...ready]) session.end();
  owner?.end();
  await idle;
  if (owner?.ended) await reset();
  if (db && !db.closed) await db.close();
  port.postMessage({ type: 'closed' });
  port.close();
}

port.on('message', (/** @type {{ type: string, id?: number, port?: import('node:worker_threads').MessagePort }} */ message) => {
  if (message.type === 'ping') {
    port.postMessage({ type: 'pong', id: message.id });
  } else if (message.type === 'session' && message.port) {
    const session = new Session(message.port);
    if (closing) session.end();
  } else if (message.type === 'close') {
    void close();
  }
});

open().then(
  (opened) => {
    db = opened;
    port.postMessage({ type: 'ready' });
    pump();
  },
  (err) => {
    port.postMessage({ type: 'failed', message: /** @type {Error} */ (err).message });
    // Nothing to serve: the thread ends, so that connections are refused at once, not left unanswered.
    port.close();
    process.exit(1);
  },
);
