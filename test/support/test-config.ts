import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Prices the tests compute expected costs with (USD per 1M tokens). */
export const STANDIN_PRICING = { input: 2.5, output: 10, cached_input: 1.25 };
export const EMBED_PRICING = { input: 100, output: 0 };
export const TOKEN_IMAGE_PRICING = { input: 5, output: 40, per_image: 0.01 };

/**
 * A config file wiring the catalog to stand-in upstreams: `standin-gpt` (vision, priced),
 * `standin-text` (no vision, small context), `standin-embed` (embeddings, 64-token window),
 * `standin-image` (images priced by tokens and per image) and `standin-dalle` (per image only), `standin-primary` falling back to `standin-backup`
 * on a second provider. Personas come from the shipped config/personas. `extra.providers` are
 * added to the stand-in's (each given the stand-in's base_url unless it names one), `extra.models`
 * to the catalog.
 */
export function writeTestConfig(upstreams: { primary: string; backup?: string }, extra: Record<string, unknown> = {}): string {
  const providers: Record<string, unknown> = {
    standin: { base_url: upstreams.primary, api_key: 'sk-standin-primary' },
  };
  if (upstreams.backup) providers.backup = { base_url: upstreams.backup, api_key: 'sk-standin-backup' };
  const models: Array<Record<string, unknown>> = [
    {
      id: 'standin-gpt',
      provider: 'standin',
      upstream_id: 'gpt-standin',
      context_window: 128000,
      max_output_tokens: 4096,
      pricing: STANDIN_PRICING,
      vision: true,
      tools: true,
    },
    {
      id: 'standin-text',
      provider: 'standin',
      upstream_id: 'text-standin',
      context_window: 2000,
      max_output_tokens: 512,
      pricing: { input: 1, output: 2 },
      vision: false,
      tools: true,
    },
    {
      id: 'standin-embed',
      provider: 'standin',
      upstream_id: 'embed-standin',
      type: 'embedding',
      dimensions: 8,
      context_window: 64,
      pricing: EMBED_PRICING,
    },
    {
      id: 'standin-image',
      provider: 'standin',
      upstream_id: 'gpt-image-standin',
      type: 'image',
      context_window: 32000,
      pricing: TOKEN_IMAGE_PRICING,
    },
    {
      id: 'standin-dalle',
      provider: 'standin',
      upstream_id: 'dalle-standin',
      type: 'image',
      context_window: 4000,
      pricing: { input: 0, output: 0, per_image: 0.04 },
    },
  ];
  if (upstreams.backup) {
    models.push(
      {
        id: 'standin-primary',
        provider: 'standin',
        upstream_id: 'primary-standin',
        context_window: 128000,
        pricing: STANDIN_PRICING,
        fallbacks: ['standin-backup'],
      },
      { id: 'standin-backup', provider: 'backup', upstream_id: 'backup-standin', context_window: 128000, pricing: { input: 1, output: 1 } },
    );
  }
  const {
    providers: moreProviders,
    models: moreModels,
    ...rest
  } = extra as {
    providers?: Record<string, Record<string, unknown>>;
    models?: Array<Record<string, unknown>>;
  };
  for (const [name, provider] of Object.entries(moreProviders ?? {})) providers[name] = { base_url: upstreams.primary, ...provider };
  models.push(...(moreModels ?? []));
  const file = join(mkdtempSync(join(tmpdir(), 'colloquy-config-')), 'colloquy.yaml');
  writeFileSync(file, stringify({ providers, models, ...rest }));
  return file;
}
