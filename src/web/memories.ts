import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { field } from './forms.js';

interface Memory {
  id: string;
  content: string;
  source: string;
  created_at: number;
}

/** Memories: what the assistant remembers about you (used with "Use memory" in a chat). */
export function MemoriesPage() {
  const [memories, setMemories] = useState<Memory[]>([]);
  const [error, setError] = useState<string | null>(null);
  const load = async () => setMemories((await api.get<{ data: Memory[] }>('/memories?limit=100')).data);
  useEffect(() => {
    void load().catch(() => undefined);
  }, []);
  const add = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    try {
      await api.post('/memories', { content: field(new FormData(form), 'content') });
      form.reset();
      setError(null);
      await load();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  const remove = async (id: string) => {
    await api.delete(`/memories/${id}`);
    await load();
  };
  return html`
    <main class="page">
      <h1>Memories</h1>
      <form class="row" onSubmit=${add}>
        <label class="grow">Remember <input name="content" required maxlength="2000" /></label>
        <button type="submit" class="primary">Add</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <ul class="list">
        ${memories.map(
          (m) =>
            html`<li key=${m.id}>
              <span>${m.content}</span>
              <button type="button" class="danger" aria-label=${`Delete: ${m.content}`} onClick=${() => remove(m.id)}>Delete</button>
            </li>`,
        )}
      </ul>
    </main>
  `;
}
