import { EchoProvider, echoText } from './echo.provider.js';
import { TokenCounter } from './token-counter.js';

describe('colloquy/echo', () => {
  it('answers with the last user text, then a line per attachment naming the file and its type', () => {
    expect(
      echoText([
        { role: 'user', content: 'earlier' },
        { role: 'assistant', content: 'reply' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Summarise these' },
            { type: 'text', text: '[file: report.pdf, 2 pages]\nlots of text' },
            { type: 'text', text: '[image: chart.png]' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ],
        },
      ]),
    ).toBe('Summarise these\n📎 report.pdf (application/pdf)\n📎 chart.png (image/png)');
  });

  it('streams word by word, with usage when asked, deterministically', async () => {
    const echo = new EchoProvider(new TokenCounter());
    const signal = new AbortController().signal;
    const source = await echo.stream(
      { model: 'colloquy/echo', messages: [{ role: 'user', content: 'a b c' }], stream_options: { include_usage: true } },
      signal,
    );
    const chunks = [];
    for (let r = await source.next(); !r.done; r = await source.next()) chunks.push(r.value);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? null)).toEqual(['', 'a ', 'b ', 'c', null, null]);
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 3 });
    const again = await echo.complete({ model: 'colloquy/echo', messages: [{ role: 'user', content: 'a b c' }] }, signal);
    expect(again.choices[0].message.content).toBe('a b c');
  });
});
