import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyGguf } from '../../../test/support/gguf-writer.js';
import { ConfigError, loadConfig } from '../../config/config.loader.js';
import { ModelCatalog } from '../model-catalog.js';
import { localModelSpecs } from './local-specs.js';

/** How local models are named (catalog, Llamalith's config.json, <KEY>_PATH) and what their files' headers give the catalog. */
describe('local model configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-local-config-'));
  const data = join(dir, 'data');
  mkdirSync(join(data, 'models'), { recursive: true });
  mkdirSync(join(dir, 'llamalith', 'models'), { recursive: true });
  writeTinyGguf(join(dir, 'llamalith', 'models', 'mistral.gguf'), { contextLength: 32_768 });
  writeTinyGguf(join(data, 'models', 'small.gguf'), { contextLength: 1_024 });
  const llamalithConfig = join(dir, 'llamalith', 'config.json');
  writeFileSync(llamalithConfig, JSON.stringify({ model_paths: { mistral: 'models/mistral.gguf' }, other_setting: true }));
  const yaml = join(dir, 'colloquy.yaml');
  writeFileSync(
    yaml,
    'models:\n  - { id: small, provider: local, gguf: small.gguf, parallel: 3 }\n  - { id: sized, provider: local, gguf: small.gguf, context_size: 512 }\n',
  );

  const load = (env: Record<string, string>) => loadConfig({ env: { DATA_DIR: data, ...env }, file: yaml });

  it('takes Llamalith’s model_paths relative to the JSON file, and <KEY>_PATH for LLM_MODELS keys or .gguf files', () => {
    const config = load({
      LLAMALITH_CONFIG: llamalithConfig,
      LLM_MODELS: 'mistral,mythomax',
      MYTHOMAX_PATH: '/models/mythomax.bin',
      PHI_PATH: '/models/phi.gguf',
      LD_LIBRARY_PATH: '/usr/lib',
    });
    const local = Object.fromEntries(config.models.filter((m) => m.provider === 'local').map((m) => [m.id, m.gguf]));
    expect(local).toEqual({
      small: 'small.gguf',
      sized: 'small.gguf',
      mistral: join(dir, 'llamalith', 'models', 'mistral.gguf'),
      mythomax: '/models/mythomax.bin',
      phi: '/models/phi.gguf',
    });
    expect(config.local.listed).toEqual(['mistral', 'mythomax']);
  });

  it('reads Llamalith’s generation knobs and Colloquy’s own settings, with Llamalith’s defaults', () => {
    expect(load({}).local).toMatchObject({
      sampling: { temperature: 0.7, topP: 0.95, topK: 40, repeatPenalty: 1.1 },
      safetyMargin: 128,
      queueMax: 32,
      idleUnloadMs: 30 * 60_000,
    });
    const config = load({
      LLM_TEMP: '0.2',
      LLM_TOP_P: '0.5',
      LLM_TOP_K: '8',
      LLM_REPEAT_PENALTY: '1.3',
      LLM_SAFETY_MARGIN: '16',
      LOCAL_QUEUE_MAX: '4',
    });
    expect(config.local).toMatchObject({ sampling: { temperature: 0.2, topP: 0.5, topK: 8, repeatPenalty: 1.3 }, safetyMargin: 16, queueMax: 4 });
  });

  it('refuses a models config that is missing or not Llamalith’s shape, naming the variable', () => {
    expect(() => load({ LOCAL_MODELS_CONFIG: join(dir, 'nope.json') })).toThrow(/LOCAL_MODELS_CONFIG .*does not exist/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"paths": {}}');
    expect(() => load({ LOCAL_MODELS_CONFIG: bad })).toThrow(ConfigError);
    expect(() => load({ LOCAL_MODELS_CONFIG: bad })).toThrow(/model_paths/);
  });

  it('gives each local model its window from context_size, else its trained context capped at 8,192; a missing file is a reason, not a failure', () => {
    const config = load({ LLAMALITH_CONFIG: llamalithConfig, GONE_PATH: join(dir, 'gone.gguf') });
    const specs = localModelSpecs(config);
    const byId = new Map(specs.map((s) => [s.id, s]));
    expect(byId.get('small')).toMatchObject({
      contextSize: 1_024,
      parallel: 3,
      gpuLayers: 'auto',
      problem: null,
      gguf: join(data, 'models', 'small.gguf'),
    });
    expect(byId.get('sized')).toMatchObject({ contextSize: 512, parallel: 2 });
    expect(byId.get('mistral')).toMatchObject({ contextSize: 8_192 });
    expect(byId.get('gone')!.problem).toContain('does not exist');
    const catalog = new ModelCatalog(config, [], specs);
    expect(catalog.resolve('mistral')).toMatchObject({ provider: 'local', contextWindow: 8_192, tools: false, vision: false });
    // A local model is not reached by prefix: local/<anything> is no model.
    expect(() => catalog.resolve('local/whatever')).toThrow(/does not exist/);
  });
});
