import { expectError } from '../support/http.js';
import { useStandInApp } from '../support/stand-in-app.js';

/**
 * Counting tokens never holds the event loop: text without spaces is counted in linear time,
 * long texts off the main thread, and what cannot fit is refused from its size before any
 * counting. Probes answer throughout (bounds here are generous; the benchmark measures them).
 */
describe('token counting and the event loop', () => {
  const s = useStandInApp();

  /** Runs `work` while probing /health/live back to back; answers the slowest probe in ms. */
  async function slowestProbeDuring<T>(work: () => Promise<T>): Promise<{ result: T; slowestMs: number }> {
    let done = false;
    let slowestMs = 0;
    const probing = (async () => {
      while (!done) {
        const started = performance.now();
        await fetch(`${s.t.url}/health/live`);
        slowestMs = Math.max(slowestMs, performance.now() - started);
      }
    })();
    try {
      return { result: await work(), slowestMs };
    } finally {
      done = true;
      await probing;
    }
  }

  it('answers probes while a 200 KB message without spaces is counted (tiktoken alone: ~39 s)', async () => {
    const { result, slowestMs } = await slowestProbeDuring(() =>
      s.admin.post('/v1/chat/completions', { model: 'standin-gpt', max_tokens: 10, messages: [{ role: 'user', content: 'x'.repeat(200_000) }] }),
    );
    expect(result.status).toBe(200);
    expect(slowestMs).toBeLessThan(1_000);
  });

  it('answers probes while a 100 KB text upload of one long word is counted', async () => {
    const form = new FormData();
    form.append('file', new Blob(['x'.repeat(100_000)], { type: 'text/plain' }), 'x.txt');
    const { result, slowestMs } = await slowestProbeDuring(() => s.admin.post('/files/upload', form));
    expect(result.status).toBe(201);
    expect(result.body.data[0].tokens).toBe(12_500);
    expect(slowestMs).toBeLessThan(1_000);
  });

  it('refuses a prompt that cannot fit from its size alone, before counting it', async () => {
    // 20 MB for a 2,000-token window: at most 128 bytes a token, it is at least 156,250 tokens.
    const { result } = await slowestProbeDuring(() =>
      s.admin.post('/v1/chat/completions', { model: 'standin-text', messages: [{ role: 'user', content: 'word '.repeat(4_000_000) }] }),
    );
    const error = expectError(result, 400, 'context_length_exceeded');
    expect(error.message).toMatch(/maximum context length is 2000 tokens/);
    expect(s.upstream.requests).toHaveLength(0);
  });
});
