import { readSse, SseParser } from './sse.js';

describe('SseParser', () => {
  it('gives whole events however the text is cut', () => {
    const text = 'data: {"a":1}\r\n\r\n: ping\n\ndata: {"b":2}\r\rdata: [DONE]\n\n';
    for (let size = 1; size <= text.length; size++) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...parser.push(text.slice(i, i + size)));
      events.push(...parser.end());
      expect({ size, data: events.map((e) => e.data) }).toEqual({ size, data: ['{"a":1}', '{"b":2}', '[DONE]'] });
    }
  });

  it('joins data lines, keeps event names and ids, and ignores comments and unknown fields', () => {
    const parser = new SseParser();
    const events = parser.push('event: update\nid: 7\ndata: first\ndata:second\nretry: 10\nfoo: bar\n: a comment\n\n');
    expect(events).toEqual([{ event: 'update', id: '7', data: 'first\nsecond' }]);
  });

  it('sends nothing for comment-only blocks (keep-alive pings)', () => {
    expect(new SseParser().push(': ping\n\n: ping\n\n')).toEqual([]);
  });

  it('drops an event the stream ended before finishing', () => {
    const parser = new SseParser();
    expect(parser.push('data: complete\n\ndata: cut')).toEqual([{ event: 'message', data: 'complete' }]);
    expect(parser.end()).toEqual([]);
  });
});

describe('readSse', () => {
  it('reads events from a byte stream split inside a multi-byte character', async () => {
    const bytes = new TextEncoder().encode('data: 📎 report.pdf\n\ndata: [DONE]\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const data: string[] = [];
    for await (const event of readSse(body)) data.push(event.data);
    expect(data).toEqual(['📎 report.pdf', '[DONE]']);
  });
});
