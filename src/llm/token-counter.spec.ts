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

  it("follows OpenAI's message framing", () => {
    // 3 per message + role + content, plus 3 priming the reply.
    const prompt = tokens.countPrompt([{ role: 'user', content: 'Hello, world!' }]);
    expect(prompt).toBe(3 + tokens.count('user') + 4 + 3);
    for (const role of ['system', 'developer', 'user', 'assistant', 'tool', 'function']) expect(tokens.count(role)).toBe(1);
  });

  it('gives the same count for a text seen before (cached) as the first time', () => {
    const text = 'A persona prompt that every request of a conversation sends again, word for word, turn after turn.';
    const first = tokens.count(text);
    expect(tokens.count(text)).toBe(first);
    expect(tokens.count(`${text} `)).toBeGreaterThanOrEqual(first);
  });

  it('counts images by detail and text parts by their text', () => {
    const low = tokens.countContent([{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA', detail: 'low' } }]);
    const high = tokens.countContent([{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA' } }]);
    expect(low).toBeLessThan(high);
    expect(tokens.countContent([{ type: 'text', text: 'Hello, world!' }])).toBe(4);
  });
});

describe('TokenCounter.countLong', () => {
  const tokens = new TokenCounter();
  afterAll(() => tokens.onModuleDestroy());

  it('counts a long text in slices to within a token per slice of count()', async () => {
    const text = Array.from({ length: 4000 }, (_, i) => `Sentence number ${i} talks about widgets and gadgets.`).join(' ');
    const exact = tokens.count(text);
    const sliced = await tokens.countLong(text, 4096);
    expect(Math.abs(sliced - exact)).toBeLessThanOrEqual(Math.ceil(text.length / 4096));
  });
});
