import { statSync } from 'node:fs';
import { startServerProcess } from '../support/server-process.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { writeTestConfig } from '../support/test-config.js';

const KEY = 'process-test-admin-key-0123456789';

describe('the server process', () => {
  let upstream: StandInUpstream;
  beforeAll(async () => {
    upstream = await startStandInUpstream();
  });
  afterAll(() => upstream.close());

  function streamRequest(url: string) {
    return fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'standin-gpt', stream: true, messages: [{ role: 'user', content: 'slow' }] }),
    });
  }

  it('on SIGTERM finishes an in-flight stream, refuses new connections, and exits 0', async () => {
    upstream.setDefault({ kind: 'reply', text: 'one two three four five six seven eight', chunkDelayMs: 100 });
    const server = await startServerProcess({
      CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }),
      COLLOQUY_ADMIN_KEY: KEY,
      SHUTDOWN_GRACE_MS: '10000',
    });
    try {
      const res = await streamRequest(server.url);
      expect(res.status).toBe(200);
      // The stream has begun (its first chunk is here) and has most of its words to go.
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = decoder.decode((await reader.read()).value, { stream: true });
      expect(text).not.toContain('eight');
      server.child.kill('SIGTERM');
      for (let read = await reader.read(); !read.done; read = await reader.read()) text += decoder.decode(read.value, { stream: true });
      expect(text).toContain('eight');
      expect(text.trim().endsWith('data: [DONE]')).toBe(true);
      expect(await server.exited).toBe(0);
      await expect(fetch(`${server.url}/health/live`)).rejects.toThrow();
      expect(server.stdout()).toContain('shutting down');
    } finally {
      await server.stop();
    }
  });

  it('exits when the grace period is over, even with a request still open', async () => {
    upstream.setDefault({ kind: 'hang' });
    const server = await startServerProcess({
      CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }),
      COLLOQUY_ADMIN_KEY: KEY,
      SHUTDOWN_GRACE_MS: '500',
    });
    try {
      const called = upstream.nextRequest();
      const pending = streamRequest(server.url).then(
        (r) => r.status,
        () => 'closed',
      );
      // The request is in the server's hands: it has called the upstream, which never answers.
      await called;
      const started = Date.now();
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(1);
      expect(Date.now() - started).toBeLessThan(5_000);
      await pending;
    } finally {
      await server.stop();
    }
  });

  it('exits within the grace period even when nobody reads its stdout any more', async () => {
    const server = await startServerProcess({ COLLOQUY_ADMIN_KEY: KEY, SHUTDOWN_GRACE_MS: '2000' });
    try {
      // A supervisor that stopped reading: the pipe fills up with request log lines.
      server.child.stdout!.pause();
      const agent = async () => {
        for (let i = 0; i < 500; i++) await (await fetch(`${server.url}/health/live`)).text();
      };
      await Promise.all(Array.from({ length: 8 }, agent));
      const started = Date.now();
      server.child.kill('SIGTERM');
      // The exit is the event; the timer only bounds the wait, so that a hang fails with a reason.
      let bound!: NodeJS.Timeout;
      const exited = await Promise.race([
        server.exited.then(() => 'exited'),
        new Promise((r) => (bound = setTimeout(() => r('still running'), 6_000))),
      ]);
      clearTimeout(bound);
      expect(exited).toBe('exited');
      expect(Date.now() - started).toBeLessThan(2_000 + 1_000);
    } finally {
      server.child.stdout!.destroy();
      await server.stop();
    }
  });

  it('starts twice at once from one checkout with `npm start`, which only starts (no rebuild), and stops on SIGTERM to npm', async () => {
    const built = statSync('dist/main.js').mtimeMs;
    const starts = await Promise.allSettled(
      [1, 2].map(() => startServerProcess({ COLLOQUY_ADMIN_KEY: KEY, SHUTDOWN_GRACE_MS: '3000' }, { npmStart: true })),
    );
    const servers = starts.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      for (const start of starts) if (start.status === 'rejected') throw start.reason;
      for (const server of servers) {
        const me = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${KEY}` } });
        expect(me.status).toBe(200);
        expect(server.stdout()).not.toMatch(/nest build|prisma generate|SWC/);
      }
      expect(statSync('dist/main.js').mtimeMs).toBe(built);
      // npm hands the signal to the server (its script execs node), and exits with the server.
      const started = Date.now();
      for (const server of servers) server.child.kill('SIGTERM');
      expect(await Promise.all(servers.map((s) => s.exited))).toEqual([0, 0]);
      expect(Date.now() - started).toBeLessThan(3_000 + 1_000);
      for (const server of servers) {
        expect(server.stdout()).toContain('"msg":"stopped"');
        await expect(fetch(`${server.url}/health/live`)).rejects.toThrow();
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  }, 90_000);

  it('answers its probes within 100 ms all through a first start (initdb and migrations included), warning of nothing', async () => {
    // This client's own first requests are slow (cold code): warm it on another server first, so
    // that what is timed below is the server under test.
    for (let i = 0; i < 5; i++) await (await fetch(`${upstream.baseUrl}/models`)).text();
    const server = await startServerProcess({ COLLOQUY_ADMIN_KEY: KEY }, { noWait: true });
    try {
      const timings = { live: [] as number[], ready: [] as number[] };
      let answered = 0;
      // The probe timings start with the port (before, it is loading its modules).
      await server.printed('"msg":"listening"');
      const deadline = Date.now() + 60_000;
      // One probe after the other, as an impatient prober would, until the server is ready.
      for (;;) {
        expect(server.child.exitCode).toBeNull();
        expect(Date.now()).toBeLessThan(deadline);
        const t0 = performance.now();
        await (await fetch(`${server.url}/health/live`)).text();
        timings.live.push(performance.now() - t0);
        const t1 = performance.now();
        const ready = await fetch(`${server.url}/health/ready`);
        await ready.text();
        timings.ready.push(performance.now() - t1);
        answered++;
        if (ready.status === 200) break;
      }
      // Many probes answered while initdb and the migrations ran, quickly: 95 in 100 within
      // 100 ms and none near a second (before, the event loop stalled for seconds). The rest of
      // the margin is for this machine's other test workers sharing its cores.
      expect(answered).toBeGreaterThan(10);
      for (const probe of [timings.live, timings.ready]) {
        const sorted = [...probe].sort((a, b) => a - b);
        expect(sorted[Math.floor(sorted.length * 0.95)]).toBeLessThan(100);
        expect(sorted.at(-1)).toBeLessThan(1_000);
      }
      expect(server.stdout()).toContain('"msg":"migrations applied"');
      expect(server.stdout()).not.toMatch(/"level":"(warn|error)"/);
    } finally {
      await server.stop();
    }
  }, 90_000);

  it('prints a generated admin key once on stdout, as a plain line', async () => {
    const server = await startServerProcess({});
    try {
      const lines = server.stdout().split('\n');
      const banner = lines.filter((l) => l.includes('Colloquy admin API key'));
      expect(banner).toHaveLength(1);
      expect(banner[0].startsWith('{')).toBe(false);
      const key = /(cq_[\w-]{43})/.exec(banner[0])![1];
      const me = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${key}` } });
      expect(((await me.json()) as { role: string }).role).toBe('admin');
      expect(lines.filter((l) => l.includes(key))).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });

  it('stops at boot on a bad setting, naming it', async () => {
    await expect(startServerProcess({ PORT: 'not-a-port' })).rejects.toThrow(/PORT \(server\.port\)/);
  });
});
