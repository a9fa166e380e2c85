import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A program run on a real pseudo-terminal, driven like a person at a keyboard: `script` (util-linux)
 * gives the child a pty and relays our pipes to it, so readline sees a TTY (raw mode, line editing,
 * Ctrl-C as a keypress). node-pty would need a native build; `script` is on every Linux box.
 */
export interface PtySession {
  child: ChildProcess;
  /** Everything shown so far, without ANSI sequences and carriage returns. */
  screen(): string;
  /** Keystrokes: "\r" is Enter, "\x03" Ctrl-C, "\x04" Ctrl-D, "\x1b[A" the up arrow. */
  type(keys: string): void;
  /** Waits until the screen, after `from` characters, matches; returns the index just past the match. */
  waitFor(pattern: string | RegExp, options?: { from?: number; timeoutMs?: number }): Promise<number>;
  /** The child's exit code. */
  exited: Promise<number | null>;
  kill(): void;
}

// CSI sequences (cursor moves, colours, clears) and OSC titles.
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '').replace(/\r/g, '');
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function spawnPty(command: string[], env: Record<string, string>): PtySession {
  // A fixed size: a pty starts at 0x0, and line editing needs to know the width.
  const line = `stty cols 120 rows 40 2>/dev/null; exec ${command.map(shellQuote).join(' ')}`;
  const child = spawn('script', ['-qfec', line, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let raw = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    raw += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const screen = () => stripAnsi(raw);

  return {
    child,
    screen,
    type: (keys) => void child.stdin.write(keys),
    waitFor: (pattern, options = {}) =>
      new Promise<number>((resolve, reject) => {
        const from = options.from ?? 0;
        const check = () => {
          const text = screen().slice(from);
          const match = typeof pattern === 'string' ? { index: text.indexOf(pattern), length: pattern.length } : pattern.exec(text);
          const index = match ? match.index : -1;
          if (match && index >= 0) {
            done();
            resolve(from + index + (typeof pattern === 'string' ? pattern.length : (match as RegExpExecArray)[0].length));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${String(pattern)}; the screen after ${from}:\n${screen().slice(from)}`));
        }, options.timeoutMs ?? 10_000);
        const onExit = () => {
          done();
          reject(new Error(`exited while waiting for ${String(pattern)}; the screen after ${from}:\n${screen().slice(from)}`));
        };
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      }),
    exited,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
