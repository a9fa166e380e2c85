import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { field } from './forms.js';

interface Job {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  model: string | null;
  conversation_id: string | null;
  created_at: number;
  result: { choices?: Array<{ message?: { content?: unknown } }> } | null;
  error: { message: string } | null;
}

const LIVE = new Set(['queued', 'running']);

function resultText(job: Job): string {
  const content = job.result?.choices?.[0]?.message?.content;
  return typeof content === 'string' ? content : JSON.stringify(content ?? '');
}

/** Jobs: submit a prompt to run in the background, watch it (polled while any is live), cancel, open the result. */
export function JobsPage() {
  const [jobs, setJobs] = useState<Job[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async () => setJobs((await api.get<{ data: Job[] }>('/jobs?limit=50')).data);

  useEffect(() => {
    void load().catch(() => undefined);
  }, []);
  useEffect(() => {
    if (!jobs.some((j) => LIVE.has(j.status))) return;
    const timer = setTimeout(() => void load().catch(() => undefined), 1000);
    return () => clearTimeout(timer);
  }, [jobs]);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const prompt = field(new FormData(form), 'prompt').trim();
    if (!prompt) return;
    try {
      await api.post('/jobs', { messages: [{ role: 'user', content: prompt }] });
      form.reset();
      setError(null);
      await load();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  const cancel = async (id: string) => {
    await api.post(`/jobs/${id}/cancel`).catch((err: unknown) => setError(err instanceof ApiError ? err.message : String(err)));
    await load();
  };

  return html`
    <main class="page">
      <h1>Jobs</h1>
      <form class="composer" onSubmit=${submit}>
        <label>Prompt <textarea name="prompt" rows="3" required></textarea></label>
        <div class="row"><button type="submit" class="primary">Submit job</button></div>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <table>
        <caption class="visually-hidden">
          Your jobs, newest first
        </caption>
        <thead>
          <tr>
            <th scope="col">Created</th>
            <th scope="col">Status</th>
            <th scope="col">Model</th>
            <th scope="col"></th>
          </tr>
        </thead>
        <tbody>
          ${jobs.map(
            (job) =>
              html`<tr key=${job.id} data-job=${job.id}>
                  <td>${new Date(job.created_at * 1000).toLocaleString()}</td>
                  <td class=${`status ${job.status}`}>${job.status}</td>
                  <td>${job.model ?? 'default'}</td>
                  <td class="actions">
                    ${LIVE.has(job.status) && html`<button type="button" onClick=${() => cancel(job.id)}>Cancel</button>`}
                    ${job.status === 'succeeded' && html`<button type="button" onClick=${() => setOpen(open === job.id ? null : job.id)}>Result</button>`}
                    ${job.conversation_id && html`<a href=${`#/chat/${job.conversation_id}`}>Conversation</a>`}
                  </td>
                </tr>
                ${
                  open === job.id &&
                  html`<tr>
                    <td colspan="4" class="result">${resultText(job)}</td>
                  </tr>`
                }
                ${
                  job.error &&
                  html`<tr>
                    <td colspan="4" class="error">${job.error.message}</td>
                  </tr>`
                }`,
          )}
        </tbody>
      </table>
    </main>
  `;
}
