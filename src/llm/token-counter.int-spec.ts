import { DEFAULT_IMAGE_TOKENS } from './part-bounds.js';
import type { ChatMessage } from './chat-types.js';
import { TokenCounter } from './token-counter.js';

describe('TokenCounter', () => {
  const tokens = new TokenCounter();
  afterAll(() => tokens.onModuleDestroy());

  it('counts with o200k_base', () => {
    expect(tokens.count('Hello, world!')).toBe(4);
    expect(tokens.count('')).toBe(0);
  });

  it('counts special-token text as ordinary text instead of throwing', () => {
    expect(tokens.count('before <|endoftext|> after')).toBeGreaterThan(3);
  });

  it("follows OpenAI's message framing", async () => {
    // 3 per message + role + content, plus 3 priming the reply.
    const prompt = await tokens.countPrompt([{ role: 'user', content: 'Hello, world!' }], undefined, DEFAULT_IMAGE_TOKENS);
    expect(prompt).toBe(3 + tokens.count('user') + 4 + 3);
    for (const role of ['system', 'developer', 'user', 'assistant', 'tool', 'function']) expect(tokens.count(role)).toBe(1);
  });

  it('gives the same count for a text seen before (cached) as the first time', () => {
    const text = 'A persona prompt that every request of a conversation sends again, word for word, turn after turn.';
    const first = tokens.count(text);
    expect(tokens.count(text)).toBe(first);
    expect(tokens.count(`${text} `)).toBeGreaterThanOrEqual(first);
  });

  it("counts images by detail at the model's figures, text parts by their text", async () => {
    const images = { low: 85, high: 1445 };
    const [low, high, text] = await tokens.countMessages(
      [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA', detail: 'low' } }] },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
        { role: 'user', content: [{ type: 'text', text: 'Hello, world!' }] },
      ],
      images,
    );
    expect(high - low).toBe(1445 - 85);
    expect(text - (low - 85)).toBe(4);
    const [mini] = await tokens.countMessages([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }], {
      low: 2833,
      high: 48_000,
    });
    expect(mini - (low - 85)).toBe(48_000);
  });

  it('bounds audio by its duration: a WAV header gives it, other formats are bounded by their size', async () => {
    // One second of 16 kHz, 16-bit mono PCM.
    const wav = Buffer.alloc(44 + 32_000);
    wav.write('RIFF', 0, 'latin1');
    wav.writeUInt32LE(36 + 32_000, 4);
    wav.write('WAVE', 8, 'latin1');
    wav.write('fmt ', 12, 'latin1');
    wav.writeUInt32LE(16, 16);
    wav.writeUInt16LE(1, 20);
    wav.writeUInt16LE(1, 22);
    wav.writeUInt32LE(16_000, 24);
    wav.writeUInt32LE(32_000, 28);
    wav.writeUInt16LE(2, 32);
    wav.writeUInt16LE(16, 34);
    wav.write('data', 36, 'latin1');
    wav.writeUInt32LE(32_000, 40);
    const audio = (data: Buffer, format: string) => ({
      role: 'user' as const,
      content: [{ type: 'input_audio' as const, input_audio: { data: data.toString('base64'), format } }],
    });
    const [empty] = await tokens.countMessages([{ role: 'user', content: [] }], DEFAULT_IMAGE_TOKENS);
    const [oneSecond, mp3] = await tokens.countMessages([audio(wav, 'wav'), audio(Buffer.alloc(16_000, 0xff), 'mp3')], DEFAULT_IMAGE_TOKENS);
    // 32 a second over the file's 32,044 bytes (a little over a second), rounded up, plus one.
    expect(oneSecond - empty).toBe(Math.ceil((32_044 / 32_000) * 32) + 1);
    // 16 KB of unknown audio is at most 16 s at the lowest bitrate in use.
    expect(mp3 - empty).toBe(16 * 32 + 1);
  });

  it('counts text without spaces in linear time (tiktoken alone is quadratic in a run)', async () => {
    const started = performance.now();
    const [run, spaces] = await tokens.countMany(['x'.repeat(200_000), ' '.repeat(200_000)]);
    // tiktoken alone: about 39 s for the run of x; in slices, well under a second on any machine.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(run).toBe(25_000);
    expect(spaces).toBeGreaterThan(200_000 / 128 - 1);
  });

  it('counts prose exactly, inline or in the worker', async () => {
    const prose = Array.from({ length: 3000 }, (_, i) => `Sentence number ${i} talks about widgets and gadgets.`).join(' ');
    const [inWorker] = await tokens.countMany([prose]);
    expect(inWorker).toBe(tokens.count(prose));
    expect(inWorker).toBeGreaterThan(30_000);
  });

  it('gives a floor from the text size alone', () => {
    expect(TokenCounter.promptFloor([{ role: 'user', content: 'a'.repeat(1280) }])).toBe(10);
    expect(
      TokenCounter.promptFloor([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a'.repeat(129) },
            { type: 'image_url', image_url: { url: 'x'.repeat(10_000) } },
          ],
        },
      ]),
    ).toBe(2);
  });

  it('gives a ceiling from the size alone that no count exceeds', async () => {
    const prompts: Array<[ChatMessage[], unknown]> = [
      [[{ role: 'user', content: 'hello' }], null],
      [
        [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', name: 'ann', content: '日本語のテキスト、絵文字 🎉🎉 and English.' },
        ],
        null,
      ],
      [[{ role: 'user', content: 'x'.repeat(5000) }], [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }]],
      [
        [
          {
            role: 'user',
            content: [
              { type: 'text', text: '\u0000\u0001 ÿ ' },
              { type: 'image_url', image_url: { url: 'data:', detail: 'low' } },
            ],
          },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: '{"ok":true}' },
        ],
        null,
      ],
    ];
    for (const [messages, tools] of prompts) {
      const counted = await tokens.countPrompt(messages, tools, DEFAULT_IMAGE_TOKENS);
      expect(TokenCounter.promptCeiling(messages, tools, DEFAULT_IMAGE_TOKENS)).toBeGreaterThanOrEqual(counted);
    }
  });
});
