import { costMicros, imageCostMicros, readUsage, spendView, worstCaseMicros } from './pricing.js';

describe('costMicros', () => {
  const gpt4o = { input: 2.5, output: 10, cachedInput: 1.25, perImage: 0 };

  it('prices tokens at the catalog rate per 1M tokens, in whole micro-dollars', () => {
    // 1,000 prompt tokens at $2.50/M = $0.0025; 500 completion tokens at $10/M = $0.005.
    expect(costMicros(gpt4o, { promptTokens: 1000, completionTokens: 500, cachedTokens: 0, reasoningTokens: 0 })).toBe(7500);
  });

  it('bills cached prompt tokens at the cached rate', () => {
    expect(costMicros(gpt4o, { promptTokens: 1000, completionTokens: 0, cachedTokens: 400, reasoningTokens: 0 })).toBe(600 * 2.5 + 400 * 1.25);
  });

  it('does not bill reasoning tokens twice (they are part of completion tokens)', () => {
    expect(costMicros(gpt4o, { promptTokens: 0, completionTokens: 100, cachedTokens: 0, reasoningTokens: 80 })).toBe(1000);
  });

  it('rounds once per call', () => {
    expect(
      costMicros(
        { input: 0.15, output: 0.6, cachedInput: 0.075, perImage: 0 },
        { promptTokens: 3, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0 },
      ),
    ).toBe(1);
  });
});

describe('imageCostMicros', () => {
  it('adds the price per image to the tokens the upstream counted', () => {
    const image = { input: 5, output: 40, cachedInput: 5, perImage: 0.04 };
    expect(imageCostMicros(image, { promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0 }, 3)).toBe(120_000);
    expect(imageCostMicros(image, { promptTokens: 10, completionTokens: 100, cachedTokens: 0, reasoningTokens: 0 }, 1)).toBe(50 + 4000 + 40_000);
  });
});

describe('spendView', () => {
  it('shows running totals (BigInt columns included) with their sum and the cost in USD', () => {
    expect(spendView({ promptTokens: 1200n, completionTokens: 300n, costMicros: 7500n })).toEqual({
      prompt_tokens: 1200,
      completion_tokens: 300,
      total_tokens: 1500,
      cost_usd: 0.0075,
    });
  });
});

describe('readUsage', () => {
  const bounds = { maxPromptTokens: 1000, maxCompletionTokens: 100 };

  it('reads the detail fields, treating missing ones as zero', () => {
    expect(readUsage({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }, bounds)).toEqual({
      promptTokens: 10,
      completionTokens: 5,
      cachedTokens: 0,
      reasoningTokens: 0,
    });
    expect(
      readUsage(
        {
          prompt_tokens: 10,
          completion_tokens: 5,
          total_tokens: 15,
          prompt_tokens_details: { cached_tokens: 4, audio_tokens: 2 },
          completion_tokens_details: { reasoning_tokens: 3 },
        },
        bounds,
      ),
    ).toEqual({ promptTokens: 10, completionTokens: 5, cachedTokens: 4, reasoningTokens: 3, audioPromptTokens: 2 });
  });

  it.each([
    ['a string', { prompt_tokens: 10, completion_tokens: 'abc' }],
    ['a negative refund', { prompt_tokens: -500, completion_tokens: 5 }],
    ['a fraction', { prompt_tokens: 10.5, completion_tokens: 5 }],
    ['a prompt past the window', { prompt_tokens: 1001, completion_tokens: 5 }],
    ['an answer past what was allowed', { prompt_tokens: 10, completion_tokens: 3e9 }],
    ['more cached tokens than the prompt', { prompt_tokens: 10, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 11 } }],
    ['a missing figure', { completion_tokens: 5 }],
    ['not an object', 'lots'],
  ])('refuses %s', (_what, usage) => {
    expect(readUsage(usage, bounds)).toBeNull();
  });
});

describe('audio pricing', () => {
  const audio = { input: 2.5, output: 10, cachedInput: 1.25, perImage: 0, audioInput: 40, audioOutput: 80 };

  it('bills audio tokens at the audio rates and the rest at the text rates', () => {
    const usage = {
      promptTokens: 1000,
      completionTokens: 100,
      cachedTokens: 0,
      reasoningTokens: 0,
      audioPromptTokens: 600,
      audioCompletionTokens: 50,
    };
    expect(costMicros(audio, usage)).toBe(400 * 2.5 + 600 * 40 + 50 * 10 + 50 * 80);
  });

  it('holds the worst case at the dearest rates', () => {
    expect(worstCaseMicros(audio, 1000, 100)).toBe(1000 * 40 + 100 * 80);
    expect(worstCaseMicros({ input: 2.5, output: 10, cachedInput: 1.25, perImage: 0 }, 1000, 100)).toBe(2500 + 1000);
  });
});
