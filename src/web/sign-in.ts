import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, ApiError, setCsrfToken, type Me } from './api.js';
import { field } from './forms.js';

/** Sign in with a name or email and password, or with an API key; the server sets the session cookie. */
export function SignInPage({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [mode, setMode] = useState<'password' | 'key'>('password');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const body =
      mode === 'key' ? { api_key: field(form, 'api_key') } : { name_or_email: field(form, 'name_or_email'), password: field(form, 'password') };
    setBusy(true);
    setError(null);
    try {
      const answer = await api.post<{ user: Me; csrf_token: string }>('/auth/login', body);
      setCsrfToken(answer.csrf_token);
      onSignedIn(answer.user);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'The server could not be reached.');
    } finally {
      setBusy(false);
    }
  };

  return html`
    <main class="sign-in">
      <h1>Colloquy</h1>
      <form onSubmit=${submit} aria-labelledby="sign-in-title">
        <h2 id="sign-in-title">Sign in</h2>
        <div class="tabs" role="tablist">
          <button type="button" role="tab" aria-selected=${mode === 'password'} onClick=${() => setMode('password')}>Password</button>
          <button type="button" role="tab" aria-selected=${mode === 'key'} onClick=${() => setMode('key')}>API key</button>
        </div>
        ${
          mode === 'password'
            ? html`
                <label>Name or email <input name="name_or_email" autocomplete="username" required /></label>
                <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
              `
            : html`<label>API key <input name="api_key" type="password" autocomplete="off" required /></label>`
        }
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" class="primary" disabled=${busy}>Sign in</button>
      </form>
    </main>
  `;
}
