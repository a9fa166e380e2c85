import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';

interface Totals {
  requests: number;
  total_tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}
interface Report {
  totals: Totals;
  data: Array<Totals & { group: string | null }>;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/** Usage: spend and tokens per day as a chart, per model as a table, for a chosen range. */
export function UsagePage() {
  const [from, setFrom] = useState(day(new Date(Date.now() - 29 * 86_400_000)));
  const [to, setTo] = useState(day(new Date()));
  const [byDay, setByDay] = useState<Report | null>(null);
  const [byModel, setByModel] = useState<Report | null>(null);

  useEffect(() => {
    const range = `from=${from}&to=${to}`;
    void api.get<Report>(`/usage?group_by=day&${range}`).then(setByDay);
    void api.get<Report>(`/usage?group_by=model&${range}`).then(setByModel);
  }, [from, to]);

  const days = byDay?.data ?? [];
  const peak = Math.max(...days.map((d) => d.cost_usd), 0);
  const peakTokens = Math.max(...days.map((d) => d.total_tokens), 0);
  const barWidth = days.length ? 600 / days.length : 600;
  return html`
    <main class="page">
      <h1>Usage</h1>
      <div class="row">
        <label>From <input type="date" value=${from} onChange=${(e: Event) => setFrom((e.target as HTMLInputElement).value)} /></label>
        <label>To <input type="date" value=${to} onChange=${(e: Event) => setTo((e.target as HTMLInputElement).value)} /></label>
      </div>
      ${
        byDay &&
        html`<p data-testid="usage-totals">
          ${byDay.totals.requests} requests · ${byDay.totals.total_tokens} tokens · $${byDay.totals.cost_usd.toFixed(4)}
        </p>`
      }
      <figure>
        <svg class="chart" viewBox="0 0 600 200" role="img" aria-label="Spend and tokens per day">
          ${days.map((d, i) => {
            const value = peak > 0 ? d.cost_usd / peak : peakTokens > 0 ? d.total_tokens / peakTokens : 0;
            const height = Math.max(value * 180, d.requests ? 2 : 0);
            return html`<rect class="bar" x=${i * barWidth + 1} y=${200 - height} width=${Math.max(barWidth - 2, 1)} height=${height}>
              <title>${d.group}: $${d.cost_usd.toFixed(4)}, ${d.total_tokens} tokens</title>
            </rect>`;
          })}
        </svg>
        <figcaption>Spend per day (tokens where nothing was priced)</figcaption>
      </figure>
      <table>
        <caption>
          Per model
        </caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Requests</th>
            <th scope="col">Tokens</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          ${(byModel?.data ?? []).map(
            (m) =>
              html`<tr key=${m.group}>
                <td>${m.group}</td>
                <td>${m.requests}</td>
                <td>${m.total_tokens}</td>
                <td>$${m.cost_usd.toFixed(4)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </main>
  `;
}
