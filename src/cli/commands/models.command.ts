import type { ListPage } from '../api-client.js';
import type { ModelInfo } from '../api-types.js';
import type { CommandSpec } from '../command-spec.js';
import { expectArgs } from '../command-spec.js';
import { truncate } from '../format.js';
import { formatTable } from '../table.js';

export const modelsCommand: CommandSpec = {
  name: 'models',
  usage: '[--json]',
  summary: 'list the models and personas you can chat with (not embedding or image models)',
  options: { json: { type: 'boolean' } },
  optionHelp: [['--json', 'the raw list']],
  details: 'A persona (e.g. luminary/socrates) works as --model, or as --persona over another model.',
  async run(ctx, { values, positionals }) {
    expectArgs(this, positionals, 0);
    const list = await ctx.client().get<ListPage<ModelInfo>>('/v1/models');
    if (values.json) {
      ctx.io.stdout.write(JSON.stringify(list, null, 2) + '\n');
      return;
    }
    const rows = list.data.filter(isChatModel).map((m) => [m.id, isPersona(m) ? 'persona' : 'model', m.owned_by, truncate(m.description ?? '', 60)]);
    ctx.io.stdout.write(formatTable([{ header: 'ID' }, { header: 'KIND' }, { header: 'OWNER' }, { header: 'DESCRIPTION' }], rows));
  },
};

/** Personas carry `kind: "persona"` (and, from older servers, a description catalog models lack). */
export function isPersona(model: ModelInfo): boolean {
  return model.kind === 'persona' || (model.kind === undefined && typeof model.description === 'string');
}

/** What the chat commands can use: models and personas, not embedding or image models. */
export function isChatModel(model: ModelInfo): boolean {
  return model.kind === undefined || model.kind === 'model' || model.kind === 'persona';
}
