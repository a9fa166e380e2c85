import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, onSignedOut, setCsrfToken, type Me } from './api.js';
import { ChatPage } from './chat.js';
import { SignInPage } from './sign-in.js';

/** The route in the URL's hash: #/chat, #/chat/<conversation id>. */
function useRoute(): string {
  const [route, setRoute] = useState(location.hash.slice(1) || '/chat');
  useEffect(() => {
    const update = () => setRoute(location.hash.slice(1) || '/chat');
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const route = useRoute();
  useEffect(() => {
    api.get<Me>('/me').then(setMe, () => setMe(null));
    return onSignedOut(() => setMe(null));
  }, []);

  if (me === undefined) return html`<main class="loading" aria-busy="true">Loading…</main>`;
  if (me === null) return html`<${SignInPage} onSignedIn=${setMe} />`;

  const signOut = async () => {
    await api.post('/auth/logout').catch(() => undefined);
    setCsrfToken(null);
    setMe(null);
  };
  return html`
    <div class="shell">
      <header class="topbar">
        <a class="brand" href="#/chat">Colloquy</a>
        <nav aria-label="Pages">
          <a href="#/chat" aria-current=${route.startsWith('/chat') ? 'page' : undefined}>Chat</a>
        </nav>
        <span class="who">${me.name}${me.role === 'admin' ? ' (admin)' : ''}</span>
        <button type="button" class="link" onClick=${signOut}>Sign out</button>
      </header>
      <${ChatPage} route=${route} />
    </div>
  `;
}

render(html`<${App} />`, document.getElementById('app')!);
