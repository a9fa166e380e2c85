import { SseDecoder, type ServerSentEvent } from './sse-decoder.js';

/** Feeds the bytes in pieces of `size` and collects every event, the final flush included. */
function decode(text: string, size: number): ServerSentEvent[] {
  const bytes = Buffer.from(text, 'utf8');
  const decoder = new SseDecoder();
  const events: ServerSentEvent[] = [];
  for (let i = 0; i < bytes.length; i += size) events.push(...decoder.push(bytes.subarray(i, i + size)));
  return [...events, ...decoder.end()];
}

describe('SseDecoder', () => {
  const wire =
    'data: {"a":1}\n\n: keep-alive comment\n\nevent: error\ndata: {"error":{"message":"héllo ✓"}}\n\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n';
  const expected: ServerSentEvent[] = [
    { event: null, data: '{"a":1}' },
    { event: 'error', data: '{"error":{"message":"héllo ✓"}}' },
    { event: null, data: 'line one\nline two' },
    { event: null, data: '[DONE]' },
  ];

  it.each([1, 2, 3, 7, 1000])('gives the same events whatever the byte boundaries (pieces of %i)', (size) => {
    expect(decode(wire, size)).toEqual(expected);
  });

  it('accepts CRLF and lone CR line ends, split between pieces too', () => {
    expect(decode(wire.replace(/\n/g, '\r\n'), 1)).toEqual(expected);
    expect(decode(wire.replace(/\n/g, '\r'), 1)).toEqual(expected);
    expect(decode(wire.replace(/\n/g, '\r\n'), 5)).toEqual(expected);
  });

  it('dispatches an event the stream ended without its blank line, and ignores id, retry and unknown fields', () => {
    expect(decode('id: 7\nretry: 10\nfoo: bar\ndata:no-space\n\ndata: last', 4)).toEqual([
      { event: null, data: 'no-space' },
      { event: null, data: 'last' },
    ]);
  });

  it('drops events without data', () => {
    expect(decode('event: ping\n\n\n\ndata: x\n\n', 3)).toEqual([{ event: null, data: 'x' }]);
  });
});
