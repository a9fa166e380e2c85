import type { UsageReport } from '../api-types.js';
import type { CommandSpec } from '../command-spec.js';
import { expectArgs, stringOption } from '../command-spec.js';
import { formatCount, formatUsd, truncate } from '../format.js';
import { formatTable } from '../table.js';
import { UsageError } from '../usage-error.js';

const GROUPS = ['day', 'model', 'key', 'session', 'end_user'] as const;

/** YYYY-MM-DD, and a real day (2026-02-30 is refused here rather than by the server). */
export function expectDate(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const day = new Date(`${value}T00:00:00Z`);
  const valid = /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(day.getTime()) && day.toISOString().startsWith(value);
  if (!valid) throw new UsageError(`--${flag} must be a date as YYYY-MM-DD (got "${value}")`);
  return value;
}

/** The report as a table, with a TOTAL row. */
export function usageTable(report: UsageReport): string {
  const row = (group: string, t: UsageReport['totals']) => [
    group,
    formatCount(t.requests),
    formatCount(t.errors + t.aborted),
    formatCount(t.prompt_tokens),
    formatCount(t.completion_tokens),
    formatCount(t.total_tokens),
    formatUsd(t.cost_usd),
  ];
  const columns = [
    { header: report.group_by.toUpperCase().replace('_', ' ') },
    { header: 'REQUESTS', align: 'right' as const },
    { header: 'FAILED', align: 'right' as const },
    { header: 'PROMPT', align: 'right' as const },
    { header: 'COMPLETION', align: 'right' as const },
    { header: 'TOKENS', align: 'right' as const },
    { header: 'COST', align: 'right' as const },
  ];
  return formatTable(columns, [...report.data.map((r) => row(truncate(r.group ?? '(none)', 40), r)), row('TOTAL', report.totals)]);
}

export const usageCommand: CommandSpec = {
  name: 'usage',
  usage: '[--from YYYY-MM-DD] [--to YYYY-MM-DD] [--by day|model|key|session|end_user] [--json]',
  summary: 'requests, tokens and cost over a period',
  options: { from: { type: 'string' }, to: { type: 'string' }, by: { type: 'string' }, json: { type: 'boolean' } },
  optionHelp: [
    ['--from DATE', 'first day, inclusive (default: 30 days before --to)'],
    ['--to DATE', 'last day, inclusive (default: today)'],
    ['--by GROUP', 'rows per day (default), model, key, session or end_user'],
    ['--json', 'the raw report'],
  ],
  details: 'Days are UTC. FAILED counts calls that failed or were stopped (they are metered too).',
  async run(ctx, { values, positionals }) {
    expectArgs(this, positionals, 0);
    const from = expectDate(stringOption(values, 'from'), 'from');
    const to = expectDate(stringOption(values, 'to'), 'to');
    if (from && to && from > to) throw new UsageError('--from is after --to');
    const by = stringOption(values, 'by') ?? 'day';
    if (!(GROUPS as readonly string[]).includes(by)) throw new UsageError(`--by must be one of ${GROUPS.join(', ')} (got "${by}")`);
    const report = await ctx.client().get<UsageReport>('/usage', { from, to, group_by: by });
    if (values.json) return void ctx.io.stdout.write(JSON.stringify(report, null, 2) + '\n');
    ctx.io.stdout.write(`Usage from ${report.from.slice(0, 10)} to ${to ?? report.to.slice(0, 10)} by ${by.replace('_', ' ')}\n\n`);
    ctx.io.stdout.write(usageTable(report));
  },
};
