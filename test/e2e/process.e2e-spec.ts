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
    const server = await startServerProcess({ CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }), COLLOQUY_ADMIN_KEY: KEY, SHUTDOWN_GRACE_MS: '10000' });
    try {
      const res = await streamRequest(server.url);
      expect(res.status).toBe(200);
      const body = res.text();
      await new Promise((r) => setTimeout(r, 150));
      server.child.kill('SIGTERM');
      const text = await body;
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
    const server = await startServerProcess({ CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }), COLLOQUY_ADMIN_KEY: KEY, SHUTDOWN_GRACE_MS: '500' });
    try {
      const pending = streamRequest(server.url).then(
        (r) => r.status,
        () => 'closed',
      );
      await new Promise((r) => setTimeout(r, 150));
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
      const exited = await Promise.race([server.exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('still running'), 6_000))]);
      expect(exited).toBe('exited');
      expect(Date.now() - started).toBeLessThan(2_000 + 1_000);
    } finally {
      server.child.stdout!.destroy();
      await server.stop();
    }
  });

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
