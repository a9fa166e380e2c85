import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, onSignedOut, setCsrfToken, type Me } from './api.js';
import { AdminPage } from './admin.js';
import { ChatPage } from './chat.js';
import { JobsPage } from './jobs.js';
import { MemoriesPage } from './memories.js';
import { SignInPage } from './sign-in.js';
import { UsagePage } from './usage.js';

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

const PAGES = [
  { path: '/chat', title: 'Chat', admin: false },
  { path: '/jobs', title: 'Jobs', admin: false },
  { path: '/usage', title: 'Usage', admin: false },
  { path: '/memories', title: 'Memories', admin: false },
  { path: '/admin', title: 'Admin', admin: true },
];

function page(route: string, me: Me) {
  if (route.startsWith('/jobs')) return html`<${JobsPage} />`;
  if (route.startsWith('/usage')) return html`<${UsagePage} />`;
  if (route.startsWith('/memories')) return html`<${MemoriesPage} />`;
  // Admin pages are not even drawn for a user (the API refuses them anyway).
  if (route.startsWith('/admin') && me.role === 'admin') return html`<${AdminPage} />`;
  return html`<${ChatPage} route=${route} />`;
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const route = useRoute();
  useEffect(() => {
    // The session cookie is HttpOnly: the server says who it is and hands the CSRF token again (after a reload, in a new tab).
    api.get<{ user: Me; csrf_token: string }>('/auth/session').then(
      (session) => {
        setCsrfToken(session.csrf_token);
        setMe(session.user);
      },
      () => setMe(null),
    );
    return onSignedOut(() => setMe(null));
  }, []);

  if (me === undefined) return html`<main class="loading" aria-busy="true">Loading…</main>`;
  if (me === null) return html`<${SignInPage} onSignedIn=${setMe} />`;

  const signOut = async () => {
    try {
      await api.post('/auth/logout');
    } catch (err) {
      // Already ended (401) is signed out; anything else leaves the session alive: say so.
      if (!(err instanceof ApiError && err.status === 401)) {
        alert(`Signing out failed: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
    }
    setCsrfToken(null);
    setMe(null);
  };
  return html`
    <div class="shell">
      <header class="topbar">
        <a class="brand" href="#/chat">Colloquy</a>
        <nav aria-label="Pages">
          ${PAGES.filter((p) => !p.admin || me.role === 'admin').map(
            (p) => html`<a href=${`#${p.path}`} aria-current=${route.startsWith(p.path) ? 'page' : undefined}>${p.title}</a>`,
          )}
        </nav>
        <span class="who">${me.name}${me.role === 'admin' ? ' (admin)' : ''}</span>
        <button type="button" class="link" onClick=${signOut}>Sign out</button>
      </header>
      ${page(route, me)}
    </div>
  `;
}

render(html`<${App} />`, document.getElementById('app')!);
