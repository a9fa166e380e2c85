import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/config.loader.js';
import { ECHO_MODEL, ModelCatalog } from './model-catalog.js';

function catalog(env: Record<string, string>, yaml = '{}') {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-catalog-'));
  writeFileSync(join(dir, 'c.yaml'), yaml);
  return new ModelCatalog(
    loadConfig({ env: { PERSONAS_DIR: join(process.cwd(), 'config/personas'), ...env }, file: join(dir, 'c.yaml'), rootDir: process.cwd() }),
  );
}

const MODELS = `
models:
  - { id: gpt-4o, provider: openai, context_window: 128000, pricing: { input: 2.5, output: 10 } }
  - { id: local, provider: ollama, upstream_id: llama3.2, context_window: 8000 }
`;

describe('ModelCatalog', () => {
  it('defaults to colloquy/echo when no provider is configured', () => {
    const c = catalog({}, MODELS);
    expect(c.defaultModelId).toBe(ECHO_MODEL);
    expect(c.list().map((m) => m.id)).toContain(ECHO_MODEL);
    expect(c.list().map((m) => m.id)).not.toContain('gpt-4o');
  });

  it('defaults to the first catalog model whose provider is configured', () => {
    expect(catalog({ OPENAI_API_KEY: 'sk-x' }, MODELS).defaultModelId).toBe('gpt-4o');
    expect(catalog({ OLLAMA_BASE_URL: 'http://x:11434' }, MODELS).defaultModelId).toBe('local');
    expect(catalog({ OPENAI_API_KEY: 'sk-x', DEFAULT_MODEL: 'local', OLLAMA_BASE_URL: 'http://x:11434' }, MODELS).defaultModelId).toBe('local');
  });

  it('resolves personas over the default model, keeping the persona id', () => {
    const c = catalog({ OPENAI_API_KEY: 'sk-x' }, MODELS);
    const socrates = c.resolve('luminary/socrates');
    expect(socrates).toMatchObject({ id: 'luminary/socrates', provider: 'openai', upstreamId: 'gpt-4o' });
    expect(socrates.persona?.system_prompt).toContain('Socrates');
    expect(c.resolve('luma/therapist').persona?.defaults).toEqual({
      temperature: 0.7,
      max_tokens: 1000,
      frequency_penalty: 0.5,
      presence_penalty: 0.5,
    });
  });

  it('routes provider prefixes outside the catalog, unpriced', () => {
    const c = catalog({ OPENROUTER_API_KEY: 'sk-or' }, MODELS);
    expect(c.resolve('openrouter/mistralai/mistral-large')).toMatchObject({
      provider: 'openrouter',
      upstreamId: 'mistralai/mistral-large',
      priced: false,
    });
    expect(() => c.resolve('ollama/llama3.2')).toThrow(expect.objectContaining({ code: 'model_not_found' }));
  });

  it('answers unknown and unconfigured models with model_not_found', () => {
    const c = catalog({}, MODELS);
    expect(() => c.resolve('gpt-4o')).toThrow(expect.objectContaining({ kind: 'not_found', code: 'model_not_found', param: 'model' }));
    expect(() => c.resolve('nope')).toThrow(expect.objectContaining({ code: 'model_not_found' }));
  });

  it('ships the five LuminaryChat personas and Luma', () => {
    const ids = catalog({}, MODELS)
      .list()
      .map((m) => m.id);
    for (const id of [
      'luminary/confucius',
      'luminary/leonardo_da_vinci',
      'luminary/marie_curie',
      'luminary/socrates',
      'luminary/sun_tzu',
      'luma/therapist',
    ]) {
      expect(ids).toContain(id);
    }
  });

  it('refuses a DEFAULT_MODEL that is not in the catalog at boot', () => {
    expect(() => catalog({ DEFAULT_MODEL: 'gpt-9' }, MODELS)).toThrow(/DEFAULT_MODEL/);
  });

  it('keeps embedding models out of chat: never the default, refused as a chat model, resolved as an embedding one', () => {
    const yaml = `
models:
  - { id: embed-small, provider: openai, type: embedding, dimensions: 1536, context_window: 8191, pricing: { input: 0.02, output: 0 } }
  - { id: gpt-4o, provider: openai, context_window: 128000 }
`;
    const c = catalog({ OPENAI_API_KEY: 'sk-x' }, yaml);
    expect(c.defaultModelId).toBe('gpt-4o');
    expect(c.resolve('embed-small', 'embedding')).toMatchObject({ kind: 'embedding', dimensions: 1536 });
    expect(() => c.resolve('embed-small')).toThrow(expect.objectContaining({ code: 'model_not_supported' }));
    expect(() => c.resolve('gpt-4o', 'embedding')).toThrow(expect.objectContaining({ code: 'model_not_supported' }));
    expect(() => c.resolve('luminary/socrates', 'embedding')).toThrow(expect.objectContaining({ code: 'model_not_found' }));
    expect(c.resolve('openai/text-embedding-ada-002', 'embedding')).toMatchObject({ kind: 'embedding', upstreamId: 'text-embedding-ada-002' });
    expect(() => catalog({ OPENAI_API_KEY: 'sk-x', DEFAULT_MODEL: 'embed-small' }, yaml)).toThrow(/embedding model/);
  });

  describe('model_aliases', () => {
    const ALIASED = `${MODELS}
model_aliases:
  big: gpt-4o
  mistral: ollama/mistral
  therapist: luma/therapist
  router-llama: openrouter/meta-llama/llama-3.3-70b-instruct
`;

    it('resolves an alias as the model it names: its id, pricing and limits, or its provider prefix', () => {
      const c = catalog({ OPENAI_API_KEY: 'sk-x', OLLAMA_BASE_URL: 'http://x:11434' }, ALIASED);
      expect(c.resolve('big')).toEqual(c.resolve('gpt-4o'));
      expect(c.resolve('mistral')).toMatchObject({ id: 'ollama/mistral', provider: 'ollama', upstreamId: 'mistral', priced: false });
      expect(c.resolve('therapist')).toMatchObject({ id: 'luma/therapist', upstreamId: 'gpt-4o' });
      expect(c.resolve('therapist').persona?.id).toBe('luma/therapist');
    });

    it('lists each usable alias as a model with alias_for, and hides the ones whose provider is not configured', () => {
      const c = catalog({ OPENAI_API_KEY: 'sk-x' }, ALIASED);
      const listed = c.list();
      expect(listed.find((m) => m.id === 'big')).toMatchObject({ object: 'model', owned_by: 'openai', kind: 'model', alias_for: 'gpt-4o' });
      expect(listed.find((m) => m.id === 'big')).not.toHaveProperty('default');
      expect(listed.find((m) => m.id === 'therapist')).toMatchObject({ kind: 'persona', alias_for: 'luma/therapist' });
      expect(listed.map((m) => m.id)).not.toContain('mistral');
      expect(listed.map((m) => m.id)).not.toContain('router-llama');
      expect(c.get('big').alias_for).toBe('gpt-4o');
      expect(() => c.resolve('mistral')).toThrow(expect.objectContaining({ code: 'model_not_found' }));
      expect(catalog({ OLLAMA_BASE_URL: 'http://x:11434' }, ALIASED).get('mistral')).toMatchObject({
        owned_by: 'ollama',
        alias_for: 'ollama/mistral',
      });
    });

    it('takes an alias as DEFAULT_MODEL, the default being the model it names', () => {
      expect(catalog({ OPENAI_API_KEY: 'sk-x', DEFAULT_MODEL: 'therapist' }, ALIASED).defaultModelId).toBe('luma/therapist');
    });

    it.each([
      ['gpt-4o: local', /model_aliases\.gpt-4o: .*hide the catalog model 'gpt-4o'/],
      ["'colloquy/echo': gpt-4o", /model_aliases\.colloquy\/echo: .*hide the catalog model/],
      ["'luminary/socrates': gpt-4o", /model_aliases\.luminary\/socrates: .*hide the persona/],
      ["'ollama/fast': gpt-4o", /model_aliases\.ollama\/fast: .*provider prefix 'ollama\/'/],
      ['fast: nope', /model_aliases\.fast: 'nope' is not a catalog model, a persona or <provider>\/<model>/],
      ['fast: acme/model-1', /model_aliases\.fast: 'acme\/model-1' names an unknown provider 'acme'/],
      ['fast: big\n  big: gpt-4o', /model_aliases\.fast: 'big' is an alias/],
    ])('refuses `%s` at start, naming the alias', (entry, message) => {
      expect(() => catalog({}, `${MODELS}\nmodel_aliases:\n  ${entry}\n`)).toThrow(message);
    });
  });
});
