import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { field } from './forms.js';

interface User {
  id: string;
  name: string;
  email: string | null;
  role: 'admin' | 'user';
  disabled: boolean;
  limits: { rpm: number | null; tpm: number | null };
  budget: { amount_usd: number; period: string } | null;
}
interface Key {
  id: string;
  name: string | null;
  prefix: string;
  created_at: number;
  revoked_at?: number | null;
}

const message = (err: unknown) => (err instanceof ApiError ? err.message : String(err));
const optionalNumber = (value: string) => (value.trim() === '' ? null : Number(value));

/** Administration (admins only): users, their keys, the effective configuration. */
export function AdminPage() {
  const [users, setUsers] = useState<User[]>([]);
  const [selected, setSelected] = useState<User | null>(null);
  const [keys, setKeys] = useState<Key[]>([]);
  const [newKey, setNewKey] = useState<string | null>(null);
  const [config, setConfig] = useState<unknown>(null);
  const [error, setError] = useState<string | null>(null);

  const loadUsers = async () => setUsers((await api.get<{ data: User[] }>('/users?limit=100')).data);
  const loadKeys = async (user: User) => setKeys((await api.get<{ data: Key[] }>(`/users/${user.id}/keys`)).data);
  useEffect(() => {
    void loadUsers().catch((err: unknown) => setError(message(err)));
    void api.get('/config').then(setConfig, () => undefined);
  }, []);
  useEffect(() => {
    setNewKey(null);
    if (selected) void loadKeys(selected).catch((err: unknown) => setError(message(err)));
  }, [selected?.id]);

  const createUser = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const password = field(data, 'password');
    try {
      const user = await api.post<User>('/users', {
        name: field(data, 'name'),
        ...(field(data, 'email') ? { email: field(data, 'email') } : {}),
        role: field(data, 'role') || 'user',
        ...(password ? { password } : {}),
      });
      form.reset();
      setError(null);
      await loadUsers();
      setSelected(user);
    } catch (err) {
      setError(message(err));
    }
  };
  const update = async (user: User, changes: Record<string, unknown>) => {
    try {
      const updated = await api.patch<User>(`/users/${user.id}`, changes);
      setSelected(updated);
      setError(null);
      await loadUsers();
    } catch (err) {
      setError(message(err));
    }
  };
  const saveLimits = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!selected) return;
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const amount = optionalNumber(field(data, 'budget'));
    await update(selected, {
      limits: { rpm: optionalNumber(field(data, 'rpm')), tpm: optionalNumber(field(data, 'tpm')) },
      budget: amount === null ? null : { amount_usd: amount, period: field(data, 'period') || 'month' },
    });
  };
  const createKey = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!selected) return;
    const form = event.currentTarget as HTMLFormElement;
    const name = field(new FormData(form), 'key_name');
    try {
      const created = await api.post<{ key: string }>(`/users/${selected.id}/keys`, name ? { name } : {});
      setNewKey(created.key);
      form.reset();
      await loadKeys(selected);
    } catch (err) {
      setError(message(err));
    }
  };
  const revoke = async (key: Key) => {
    if (!selected || !confirm(`Revoke the key ${key.prefix}…?`)) return;
    await api.delete(`/keys/${key.id}`);
    await loadKeys(selected);
  };

  return html`
    <main class="page admin">
      <h1>Administration</h1>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <section aria-labelledby="users-title">
        <h2 id="users-title">Users</h2>
        <form class="row" onSubmit=${createUser} aria-label="Create a user">
          <label>Name <input name="name" required /></label>
          <label>Email <input name="email" type="email" /></label>
          <label
            >Role
            <select name="role">
              <option value="user">user</option>
              <option value="admin">admin</option>
            </select></label
          >
          <label>Password <input name="password" type="password" minlength="12" autocomplete="new-password" /></label>
          <button type="submit" class="primary">Create user</button>
        </form>
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">State</th>
              <th scope="col"></th>
            </tr>
          </thead>
          <tbody>
            ${users.map(
              (u) =>
                html`<tr key=${u.id} aria-selected=${selected?.id === u.id}>
                  <td>${u.name}</td>
                  <td>${u.email ?? ''}</td>
                  <td>${u.role}</td>
                  <td>${u.disabled ? 'disabled' : 'active'}</td>
                  <td><button type="button" onClick=${() => setSelected(u)}>Manage</button></td>
                </tr>`,
            )}
          </tbody>
        </table>
      </section>
      ${
        selected &&
        html`<section aria-labelledby="user-title">
          <h2 id="user-title">${selected.name}</h2>
          <div class="row">
            <button type="button" onClick=${() => update(selected, { disabled: !selected.disabled })}>
              ${selected.disabled ? 'Enable' : 'Disable'}
            </button>
          </div>
          <form class="row" onSubmit=${saveLimits} aria-label="Limits and budget">
            <label>Requests/min <input name="rpm" type="number" min="0" value=${selected.limits.rpm ?? ''} /></label>
            <label>Tokens/min <input name="tpm" type="number" min="0" value=${selected.limits.tpm ?? ''} /></label>
            <label>Budget (USD) <input name="budget" type="number" min="0" step="0.01" value=${selected.budget?.amount_usd ?? ''} /></label>
            <label
              >Period
              <select name="period" value=${selected.budget?.period ?? 'month'}>
                <option>day</option>
                <option>month</option>
                <option>total</option>
              </select></label
            >
            <button type="submit">Save limits</button>
          </form>
          <h3>Keys</h3>
          <form class="row" onSubmit=${createKey} aria-label="Create a key">
            <label>Key name <input name="key_name" /></label>
            <button type="submit" class="primary">Create key</button>
          </form>
          ${
            newKey &&
            html`<div class="new-key" role="status">
              <p>The new key, shown once: store it now.</p>
              <code data-testid="new-key">${newKey}</code>
              <button type="button" onClick=${() => void navigator.clipboard?.writeText(newKey)}>Copy</button>
            </div>`
          }
          <ul class="list">
            ${keys.map(
              (k) =>
                html`<li key=${k.id}>
                  <code>${k.prefix}…</code> ${k.name ?? ''}
                  ${k.revoked_at ? html`<span>revoked</span>` : html`<button type="button" class="danger" onClick=${() => revoke(k)}>Revoke</button>`}
                </li>`,
            )}
          </ul>
        </section>`
      }
      <section aria-labelledby="config-title">
        <h2 id="config-title">Effective configuration (secrets redacted)</h2>
        <pre class="config">${config ? JSON.stringify(config, null, 2) : ''}</pre>
      </section>
    </main>
  `;
}
