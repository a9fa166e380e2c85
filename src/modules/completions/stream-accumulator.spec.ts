import type { ChatChunk } from '../../llm/chat-types.js';
import { StreamAccumulator } from './stream-accumulator.js';

type Choice = ChatChunk['choices'][number];

function frame(choices: Array<Partial<Choice> & { delta: Choice['delta'] }>, extra: Partial<ChatChunk> = {}): ChatChunk {
  return {
    id: 'chatcmpl-upstream',
    object: 'chat.completion.chunk',
    created: 1_700_000_123,
    model: 'gpt-upstream-2024',
    choices: choices.map((c) => ({ index: 0, finish_reason: null, ...c })),
    ...extra,
  };
}

/** A tool-call fragment as OpenAI streams them: id, type and name only in the first one of each call. */
function toolDelta(index: number, fragment: { id?: string; name?: string; arguments?: string }): Choice['delta'] {
  const { id, name, arguments: args } = fragment;
  return {
    tool_calls: [
      { index, ...(id ? { id, type: 'function' } : {}), function: { ...(name ? { name } : {}), ...(args !== undefined ? { arguments: args } : {}) } },
    ],
  };
}

describe('StreamAccumulator', () => {
  it('joins the text, keeps the finish reason, and relays each chunk under the model the client asked for', () => {
    const acc = new StreamAccumulator('my-alias');
    const relayed = [
      frame([{ delta: { role: 'assistant', content: '' } }]),
      frame([{ delta: { content: 'Hello, ' } }]),
      frame([{ delta: { content: 'world.' } }]),
      frame([{ delta: {}, finish_reason: 'stop' }]),
    ].map((c) => acc.take(c));

    expect(acc.text).toBe('Hello, world.');
    expect(acc.finishReason).toBe('stop');
    expect(acc.toolCalls()).toBeNull();
    expect(acc).toMatchObject({ id: 'chatcmpl-upstream', created: 1_700_000_123 });
    expect(relayed.map((c) => c?.model)).toEqual(['my-alias', 'my-alias', 'my-alias', 'my-alias']);
    // OpenAI's chunks always carry logprobs; an upstream that leaves it out gets null.
    expect(relayed.every((c) => c?.choices.every((choice) => choice.logprobs === null))).toBe(true);
    expect(relayed[1]).toMatchObject({ id: 'chatcmpl-upstream', choices: [{ index: 0, delta: { content: 'Hello, ' } }] });
  });

  it('keeps the usage chunk (choices: []) to itself, and strips usage from any chunk it relays', () => {
    const acc = new StreamAccumulator('m');
    const usage = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 };
    const withText = acc.take(frame([{ delta: { content: 'x' } }], { usage: null }));
    const usageOnly = acc.take(frame([], { usage }));

    expect(usageOnly).toBeNull();
    expect(acc.usage).toEqual(usage);
    expect(withText).not.toHaveProperty('usage');
  });

  it('takes the id and created time of the first chunk that has them', () => {
    const acc = new StreamAccumulator('m');
    acc.take(frame([{ delta: { content: 'a' } }], { id: '' }));
    acc.take(frame([{ delta: { content: 'b' } }], { id: 'chatcmpl-first', created: 1_700_000_500 }));
    acc.take(frame([{ delta: { content: 'c' } }], { id: 'chatcmpl-later', created: 1_700_000_900 }));
    expect(acc).toMatchObject({ id: 'chatcmpl-first', created: 1_700_000_500 });
  });

  it('assembles tool calls interleaved by index, from argument fragments, with id and name from their first fragment', () => {
    const acc = new StreamAccumulator('m');
    const deltas = [
      toolDelta(0, { id: 'call_weather', name: 'get_weather', arguments: '' }),
      toolDelta(0, { arguments: '{"city":' }),
      toolDelta(1, { id: 'call_time', name: 'get_time', arguments: '{"tz"' }),
      toolDelta(0, { arguments: '"Paris"}' }),
      toolDelta(1, { arguments: ':"CET"' }),
      toolDelta(1, { arguments: '}' }),
    ];
    for (const delta of deltas) acc.take(frame([{ delta }]));
    acc.take(frame([{ delta: {}, finish_reason: 'tool_calls' }]));

    expect(acc.toolCalls()).toEqual([
      { id: 'call_weather', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_time', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
    ]);
    expect(acc.finishReason).toBe('tool_calls');
    expect(acc.text).toBe('');
  });

  it('takes several fragments in one chunk, and text beside the tool calls', () => {
    const acc = new StreamAccumulator('m');
    acc.take(frame([{ delta: { content: 'Let me check. ' } }]));
    acc.take(
      frame([
        {
          delta: {
            tool_calls: [
              { index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '{}' } },
              { index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"n":' } },
            ],
          },
        },
      ]),
    );
    acc.take(frame([{ delta: toolDelta(1, { arguments: '1}' }) }]));

    expect(acc.text).toBe('Let me check. ');
    expect(acc.toolCalls()?.map((c) => [c.id, c.function.name, c.function.arguments])).toEqual([
      ['call_a', 'a', '{}'],
      ['call_b', 'b', '{"n":1}'],
    ]);
  });

  it('orders tool calls by index, whichever started first', () => {
    const acc = new StreamAccumulator('m');
    acc.take(frame([{ delta: toolDelta(1, { id: 'call_second', name: 'second', arguments: '{}' }) }]));
    acc.take(frame([{ delta: toolDelta(0, { id: 'call_first', name: 'first', arguments: '{}' }) }]));
    expect(acc.toolCalls()?.map((c) => c.id)).toEqual(['call_first', 'call_second']);
  });

  it('keeps the name once when an upstream repeats it in every fragment (as the OpenAI SDK does)', () => {
    const acc = new StreamAccumulator('m');
    acc.take(frame([{ delta: toolDelta(0, { id: 'call_1', name: 'lookup', arguments: '{"q":' }) }]));
    acc.take(frame([{ delta: toolDelta(0, { name: 'lookup', arguments: '"x"}' }) }]));
    expect(acc.toolCalls()).toEqual([{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }]);
  });

  it('relays the other choices of n > 1 as they come, counting only their text', () => {
    const acc = new StreamAccumulator('m');
    const both = acc.take(
      frame([
        { index: 0, delta: { content: 'first ' } },
        { index: 1, delta: { content: 'second ' } },
      ]),
    );
    acc.take(frame([{ index: 1, delta: { content: 'answer' }, finish_reason: 'length' }]));
    acc.take(frame([{ index: 0, delta: { content: 'answer' }, finish_reason: 'stop' }]));

    expect(both?.choices.map((c) => [c.index, c.delta.content])).toEqual([
      [0, 'first '],
      [1, 'second '],
    ]);
    expect(acc.text).toBe('first answer');
    expect(acc.otherText).toBe('second answer');
    // The finish reason is the first choice's (the one stored).
    expect(acc.finishReason).toBe('stop');
  });

  it('has no finish reason for a stream that was cut short', () => {
    const acc = new StreamAccumulator('m');
    acc.take(frame([{ delta: { content: 'half an ans' } }]));
    expect(acc.finishReason).toBeNull();
  });
});
