import type { ChatMessage } from '../../llm/chat-types.js';
import { fitContext, type PromptItem } from './context-window.js';

const item = (role: ChatMessage['role'], content: string, tokens: number): PromptItem => ({ message: { role, content }, tokens });

describe('fitContext', () => {
  const system = [item('system', 'be kind', 5)];
  const history = [
    item('user', 'q1', 10),
    item('assistant', 'a1', 10),
    item('user', 'q2', 10),
    item('assistant', 'a2', 10),
    item('user', 'q3', 10),
    item('assistant', 'a3', 10),
  ];
  const fresh = [item('user', 'q4', 10)];

  it('keeps everything when it fits, in order', () => {
    const fitted = fitContext(system, history, fresh, 1000);
    expect(fitted.messages.map((m) => m.content)).toEqual(['be kind', 'q1', 'a1', 'q2', 'a2', 'q3', 'a3', 'q4']);
    expect(fitted.dropped).toBe(0);
  });

  it('drops the oldest whole turns first and always keeps the system prompt and the new messages', () => {
    const fitted = fitContext(system, history, fresh, 5 + 10 + 40);
    expect(fitted.messages.map((m) => m.content)).toEqual(['be kind', 'q2', 'a2', 'q3', 'a3', 'q4']);
    expect(fitted.dropped).toBe(2);
  });

  it('never splits a tool call from its result', () => {
    const withTools = [
      item('user', 'weather?', 10),
      {
        message: {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'w', arguments: '{}' } }],
        } as ChatMessage,
        tokens: 10,
      },
      { message: { role: 'tool', content: '{"t":1}', tool_call_id: 'c1' } as ChatMessage, tokens: 10 },
      item('assistant', 'sunny', 10),
    ];
    const fitted = fitContext(system, withTools, fresh, 5 + 10 + 30);
    expect(fitted.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(fitted.dropped).toBe(4);
  });

  it('refuses when the new messages alone do not fit', () => {
    expect(() => fitContext(system, history, [item('user', 'huge', 1000)], 500)).toThrow(
      expect.objectContaining({ kind: 'invalid', code: 'context_length_exceeded' }),
    );
  });

  it('counts the tokens of a persona prompt that will be injected', () => {
    const fitted = fitContext([], history, fresh, 10 + 40 + 20, 20);
    expect(fitted.messages.map((m) => m.content)).toEqual(['q2', 'a2', 'q3', 'a3', 'q4']);
  });
});
