import OpenAI from 'openai';
import { client, expectError } from '../support/http.js';
import { STAND_IN_PNG, type StandInUpstream } from '../support/stand-in-upstream.js';
import { useStandInApp } from '../support/stand-in-app.js';
import { TOKEN_IMAGE_PRICING } from '../support/test-config.js';
import { usageRecords, type TestApp } from '../support/test-app.js';

/** Width and height from a PNG's IHDR, after checking its signature. */
function pngSize(b64: string): [number, number] {
  const bytes = Buffer.from(b64, 'base64');
  expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(bytes.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

describe('POST /v1/images/generations', () => {
  const stack = useStandInApp();
  let upstream: StandInUpstream;
  let t: TestApp;
  let sdk: OpenAI;
  let admin: ReturnType<typeof client>;
  beforeAll(() => ({ upstream, t, sdk, admin } = stack));

  it('works with the official SDK, metered at the upstream’s tokens plus the price per image', async () => {
    const prompt = 'A lighthouse at dusk, in watercolour';
    const result = await sdk.images.generate({ model: 'standin-image', prompt, n: 2, size: '1024x1024', quality: 'low' });
    expect(result.data).toHaveLength(2);
    expect(result.data![0].b64_json).toBe(STAND_IN_PNG);
    const input = Math.ceil(prompt.length / 4);
    expect(result.usage).toMatchObject({ input_tokens: input, output_tokens: 200 });
    expect(upstream.requests[0].body).toMatchObject({ model: 'gpt-image-standin', prompt, n: 2, size: '1024x1024', quality: 'low' });

    const [record] = await usageRecords(t);
    expect(record).toMatchObject({
      endpoint: '/v1/images/generations',
      requestedModel: 'standin-image',
      upstreamModel: 'gpt-image-standin',
      promptTokens: input,
      completionTokens: 200,
      status: 'ok',
      estimated: false,
    });
    const expected = input * TOKEN_IMAGE_PRICING.input + 200 * TOKEN_IMAGE_PRICING.output + 2 * TOKEN_IMAGE_PRICING.per_image * 1_000_000;
    expect(Number(record.costMicros)).toBe(Math.round(expected));
  });

  it('passes URLs through, prices per image where the upstream counts no tokens, and defaults to the first image model', async () => {
    const urls = await admin.post('/v1/images/generations', { model: 'standin-dalle', prompt: 'a red door', response_format: 'url' });
    expect(urls.status).toBe(200);
    expect(urls.body.data).toEqual([{ url: 'https://stand-in.example/images/0.png' }]);
    const defaulted = await admin.post('/v1/images/generations', { prompt: 'a blue door' });
    expect(defaulted.status).toBe(200);
    expect(upstream.requests.map((r) => r.body!.model)).toEqual(['dalle-standin', 'gpt-image-standin']);

    const [dalle] = await usageRecords(t);
    expect(dalle).toMatchObject({ requestedModel: 'standin-dalle', completionTokens: 0, estimated: true });
    expect(dalle.promptTokens).toBeGreaterThan(0);
    expect(Number(dalle.costMicros)).toBe(40_000);
  });

  it('colloquy/image draws offline: PNGs of the size asked for, the same picture for the same prompt', async () => {
    const one = await admin.post('/v1/images/generations', { model: 'colloquy/image', prompt: 'a quiet harbour', size: '512x512' });
    expect(one.status).toBe(200);
    expect(pngSize(one.body.data[0].b64_json)).toEqual([512, 512]);
    const again = await admin.post('/v1/images/generations', { model: 'colloquy/image', prompt: 'a quiet harbour', size: '512x512' });
    expect(again.body.data[0].b64_json).toBe(one.body.data[0].b64_json);
    const other = await admin.post('/v1/images/generations', { model: 'colloquy/image', prompt: 'a loud market', size: '512x512', n: 3 });
    expect(other.body.data).toHaveLength(3);
    expect(other.body.data[0].b64_json).not.toBe(one.body.data[0].b64_json);
    expect(new Set(other.body.data.map((d: { b64_json: string }) => d.b64_json)).size).toBe(3);
    expect(pngSize((await admin.post('/v1/images/generations', { model: 'colloquy/image', prompt: 'x' })).body.data[0].b64_json)).toEqual([256, 256]);
    expect(upstream.requests).toHaveLength(0);
    expect((await usageRecords(t)).map((r) => [r.provider, r.status])).toEqual([
      ['builtin', 'ok'],
      ['builtin', 'ok'],
      ['builtin', 'ok'],
      ['builtin', 'ok'],
    ]);
  });

  it('refuses bad requests before any upstream call, naming the field', async () => {
    const bad = async (body: object, param: string, status = 400) =>
      expect(expectError(await admin.post('/v1/images/generations', body), status).param).toBe(param);
    await bad({ model: 'colloquy/image', prompt: '' }, 'prompt');
    await bad({ model: 'colloquy/image' }, 'prompt');
    await bad({ model: 'colloquy/image', prompt: 'x', n: 11 }, 'n');
    await bad({ model: 'colloquy/image', prompt: 'x', size: 'huge' }, 'size');
    await bad({ model: 'colloquy/image', prompt: 'x', size: '300x300' }, 'size');
    await bad({ model: 'colloquy/image', prompt: 'x', response_format: 'url' }, 'response_format');
    await bad({ model: 'colloquy/image', prompt: 'x', stream: true }, 'stream');
    await bad({ model: 'standin-gpt', prompt: 'x' }, 'model', 404);
    const asChat = await admin.post('/v1/chat/completions', { model: 'standin-image', messages: [{ role: 'user', content: 'hi' }] });
    expect(expectError(asChat, 404, 'model_not_supported').message).toContain('/v1/images/generations');
    expect(upstream.requests).toHaveLength(0);
    expect(await usageRecords(t)).toHaveLength(0);
  });

  it('maps upstream failures to errors and records them at no cost', async () => {
    upstream.script({ kind: 'error', status: 500 });
    await expect(sdk.images.generate({ model: 'standin-dalle', prompt: 'x' })).rejects.toMatchObject({ status: 502 });
    upstream.script({ kind: 'error', status: 400, message: 'Your request was rejected by the safety system.' });
    await expect(sdk.images.generate({ model: 'standin-dalle', prompt: 'x' })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    upstream.script({ kind: 'garbage' });
    await expect(sdk.images.generate({ model: 'standin-dalle', prompt: 'x' })).rejects.toMatchObject({ status: 502 });
    expect((await usageRecords(t)).map((r) => [r.status, Number(r.costMicros)])).toEqual([
      ['error', 0],
      ['error', 0],
      ['error', 0],
    ]);
  });

  it('holds images to budgets by their price per image', async () => {
    const user = await admin.post('/users', { name: 'painter' });
    const key = await admin.post(`/users/${user.body.id}/keys`, { budget: { amount_usd: 0.12, period: 'total' } });
    const api = client(t.url, key.body.key);
    // $0.04 an image: a budget of $0.12 affords three, whatever the batches.
    expect((await api.post('/v1/images/generations', { model: 'standin-dalle', prompt: 'one', n: 2 })).status).toBe(200);
    expectError(await api.post('/v1/images/generations', { model: 'standin-dalle', prompt: 'two more', n: 2 }), 429, 'insufficient_quota');
    expect((await api.post('/v1/images/generations', { model: 'standin-dalle', prompt: 'one more' })).status).toBe(200);
    expect(upstream.requests).toHaveLength(2);
  });
});
