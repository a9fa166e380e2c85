import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, streamChat } from './api.js';
import { field } from './forms.js';
import { markdown } from './markdown.js';

interface Conversation {
  id: string;
  title: string | null;
  message_count: number;
  total_tokens: number;
  cost_usd: number;
  model: string | null;
  last_used_at: number;
  tags: string[];
  files?: Array<{ id: string; filename: string }>;
}
interface Message {
  id: string;
  role: string;
  content: unknown;
  status: 'complete' | 'incomplete' | 'error';
  tokens: number;
  model: string | null;
  cost_usd?: number | null;
}
interface Model {
  id: string;
  kind?: string;
}
interface Attachment {
  id: string;
  filename: string;
  pages: number | null;
  tokens: number | null;
}
interface Page<T> {
  data: T[];
}

/** The text of a stored message's content (a string, or content parts; files by their names). */
function textOf(content: unknown, files: ReadonlyMap<string, string> = new Map()): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: string; text?: string; file?: { file_id?: string; filename?: string } }) =>
      part.type === 'text'
        ? (part.text ?? '')
        : part.type === 'file'
          ? `Attached: ${part.file?.filename ?? files.get(part.file?.file_id ?? '') ?? 'a file'}`
          : part.type === 'image_url'
            ? 'Attached: an image'
            : '',
    )
    .filter(Boolean)
    .join('\n');
}

/** Resolves once the conversation's newest message is the assistant's (or after about 5 s). */
async function storedAnswer(conversationId: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const newest = await api.get<Page<Message>>(`/conversations/${conversationId}/messages?order=desc&limit=1`).catch(() => null);
    if (newest?.data[0]?.role === 'assistant') return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const usd = (n: number) => `$${n < 0.01 ? n.toFixed(6) : n.toFixed(4)}`;

export function ChatPage({ route }: { route: string }) {
  // Only a conversation id is ever put in an API path from the URL.
  const current = /^\/chat\/([0-9a-f-]{36})$/.exec(route)?.[1] ?? null;
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [filter, setFilter] = useState('');
  const [models, setModels] = useState<Model[]>([]);
  const [model, setModel] = useState('');
  const [personas, setPersonas] = useState<Model[]>([]);
  const [persona, setPersona] = useState('');
  const [messages, setMessages] = useState<Message[]>([]);
  const [streaming, setStreaming] = useState<string | null>(null);
  const [turnInfo, setTurnInfo] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const [useMemory, setUseMemory] = useState(false);
  const [detail, setDetail] = useState<Conversation | null>(null);
  const abort = useRef<AbortController | null>(null);
  // Set when this page moves to the conversation a turn just created: that turn's figures stay shown.
  const arrived = useRef(false);

  const loadConversations = async () => {
    const q = filter.trim() ? `&q=${encodeURIComponent(filter.trim())}` : '';
    setConversations((await api.get<Page<Conversation>>(`/conversations?limit=100${q}`)).data);
  };
  const loadMessages = async (id: string) => {
    const [conversation, page] = await Promise.all([
      api.get<Conversation>(`/conversations/${id}`),
      api.get<Page<Message>>(`/conversations/${id}/messages?order=asc&limit=100`),
    ]);
    setDetail(conversation);
    setMessages(page.data);
  };

  useEffect(() => {
    void loadConversations().catch(() => undefined);
  }, [filter]);
  useEffect(() => {
    void api.get<Page<Model>>('/v1/models').then((list) => {
      setModels(list.data.filter((m) => !m.kind || m.kind === 'model'));
      setPersonas(list.data.filter((m) => m.kind === 'persona'));
    });
  }, []);
  useEffect(() => {
    if (!arrived.current) setTurnInfo(null);
    arrived.current = false;
    setError(null);
    setDetail(null);
    if (current) void loadMessages(current).catch((err: unknown) => setError(err instanceof ApiError ? err.message : String(err)));
    else setMessages([]);
  }, [current]);

  const upload = async (files: FileList | File[]) => {
    for (const file of Array.from(files)) {
      const form = new FormData();
      form.append('file', file, file.name);
      try {
        const { data } = await api.post<Page<Attachment>>('/files/upload', form);
        setAttachments((list) => [...list, ...data]);
      } catch (err) {
        setError(`${file.name}: ${err instanceof ApiError ? err.message : String(err)}`);
      }
    }
  };

  const send = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const text = field(new FormData(form), 'message').trim();
    if (!text || streaming !== null) return;
    form.reset();
    setError(null);
    setTurnInfo(null);
    const controller = new AbortController();
    abort.current = controller;
    const shown = [text, ...attachments.map((a) => `Attached: ${a.filename}`)].join('\n');
    setMessages((list) => [...list, { id: `local-${Date.now()}`, role: 'user', content: shown, status: 'complete', tokens: 0, model: null }]);
    setStreaming('');
    let conversationId = current;
    const body: Record<string, unknown> = {
      messages: [{ role: 'user', content: text }],
      ...(current ? { conversation_id: current } : {}),
      ...(model ? { model } : {}),
      ...(persona ? { profile: persona } : {}),
      ...(attachments.length ? { file_ids: attachments.map((a) => a.id) } : {}),
      ...(useMemory ? { use_memory: true } : {}),
    };
    setAttachments([]);
    let answer = '';
    try {
      for await (const chunk of streamChat(body, controller.signal)) {
        const c = chunk as {
          conversation_id?: string;
          cost?: number;
          usage?: { completion_tokens: number };
          choices?: Array<{ delta?: { content?: string } }>;
        };
        if (c.conversation_id) conversationId = c.conversation_id;
        const delta = c.choices?.[0]?.delta?.content;
        if (delta) setStreaming((answer += delta));
        if (c.usage && c.cost !== undefined) setTurnInfo(`${c.usage.completion_tokens} tokens · ${usd(c.cost)}`);
      }
    } catch (err) {
      if (!controller.signal.aborted) setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      abort.current = null;
      // A stopped answer is stored by the server once it has seen the request end: wait for it (briefly).
      if (controller.signal.aborted && conversationId) await storedAnswer(conversationId);
      setStreaming(null);
      if (conversationId) {
        if (conversationId !== current) {
          arrived.current = true;
          location.hash = `#/chat/${conversationId}`;
        } else await loadMessages(conversationId).catch(() => undefined);
      }
      await loadConversations().catch(() => undefined);
    }
  };

  const stop = () => abort.current?.abort();
  const conversation = detail ?? conversations.find((c) => c.id === current) ?? null;
  const fileNames = new Map((detail?.files ?? []).map((f) => [f.id, f.filename]));
  const rename = async () => {
    if (!conversation) return;
    const title = prompt('New title', conversation.title ?? '')?.trim();
    if (!title) return;
    const renamed = await api.patch<Conversation>(`/conversations/${conversation.id}`, { title });
    // The update answers without the files list: keep the one read with the conversation.
    setDetail((before) => ({ ...renamed, files: before?.files ?? renamed.files }));
    await loadConversations();
  };
  const retag = async () => {
    if (!conversation) return;
    const answer = prompt('Tags, separated by commas', conversation.tags.join(', '));
    if (answer === null) return;
    const tags = [
      ...new Set(
        answer
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      ),
    ];
    const updated = await api.patch<Conversation>(`/conversations/${conversation.id}`, { tags });
    setDetail((before) => ({ ...updated, files: before?.files ?? updated.files }));
    await loadConversations();
  };
  const remove = async () => {
    if (!conversation || !confirm(`Delete “${conversation.title ?? 'Untitled'}”?`)) return;
    await api.delete(`/conversations/${conversation.id}`);
    location.hash = '#/chat';
    await loadConversations();
  };

  return html`
    <div class="chat">
      <aside class="conversations" aria-label="Conversations">
        <div class="row">
          <a class="button primary" href="#/chat">New conversation</a>
        </div>
        <label class="search"
          >Search <input type="search" value=${filter} onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)}
        /></label>
        <ul>
          ${conversations.map(
            (c) =>
              html`<li key=${c.id}>
                <a href=${`#/chat/${c.id}`} aria-current=${c.id === current ? 'page' : undefined}>${c.title ?? 'Untitled'}</a>
              </li>`,
          )}
        </ul>
      </aside>
      <section
        class="conversation"
        aria-label="Conversation"
        onDragOver=${(e: DragEvent) => e.preventDefault()}
        onDrop=${(e: DragEvent) => {
          e.preventDefault();
          if (e.dataTransfer?.files.length) void upload(e.dataTransfer.files);
        }}
      >
        <div class="conversation-head">
          <h1>${conversation?.title ?? (current ? 'Conversation' : 'New conversation')}</h1>
          ${
            conversation &&
            html`<span class="totals" data-testid="conversation-total">${conversation.total_tokens} tokens · ${usd(conversation.cost_usd)}</span>
              ${conversation.tags.length > 0 && html`<span class="tags" aria-label="Tags">${conversation.tags.map((t) => html`<span class="tag">${t}</span>`)}</span>`}
              <button type="button" onClick=${rename}>Rename</button>
              <button type="button" onClick=${retag}>Tags</button>
              <button type="button" class="danger" onClick=${remove}>Delete</button>`
          }
        </div>
        <ol class="messages" aria-live="polite">
          ${messages.map(
            (m) =>
              html`<li key=${m.id} class=${`message ${m.role} ${m.status}`} data-status=${m.status}>
                <div class="role">
                  ${m.role}${m.status !== 'complete' ? ` · ${m.status}` : ''}${m.tokens ? ` · ${m.tokens} tokens` : ''}${typeof m.cost_usd === 'number' ? ` · ${usd(m.cost_usd)}` : ''}
                </div>
                <div class="content">${m.role === 'assistant' ? markdown(textOf(m.content, fileNames)) : textOf(m.content, fileNames)}</div>
              </li>`,
          )}
          ${
            streaming !== null &&
            html`<li class="message assistant streaming" data-status="streaming">
              <div class="role">assistant · streaming</div>
              <div class="content">${markdown(streaming)}</div>
            </li>`
          }
        </ol>
        ${turnInfo && html`<p class="turn-info" data-testid="turn-info">${turnInfo}</p>`} ${error && html`<p class="error" role="alert">${error}</p>`}
        <form class="composer" onSubmit=${send}>
          <label class="visually-hidden" for="message">Message</label>
          <textarea
            id="message"
            name="message"
            rows="3"
            placeholder="Write a message…"
            onKeyDown=${(e: KeyboardEvent) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                (e.currentTarget as HTMLTextAreaElement).form?.requestSubmit();
              }
            }}
          ></textarea>
          <div class="row">
            <label
              >Model
              <select value=${model} onChange=${(e: Event) => setModel((e.target as HTMLSelectElement).value)}>
                <option value="">Default</option>
                ${models.map((m) => html`<option value=${m.id}>${m.id}</option>`)}
              </select>
            </label>
            <label
              >Persona
              <select value=${persona} onChange=${(e: Event) => setPersona((e.target as HTMLSelectElement).value)}>
                <option value="">None</option>
                ${personas.map((p) => html`<option value=${p.id}>${p.id}</option>`)}
              </select>
            </label>
            <label class="check"
              ><input type="checkbox" checked=${useMemory} onChange=${(e: Event) => setUseMemory((e.target as HTMLInputElement).checked)} /> Use
              memory</label
            >
            <label class="button"
              >Attach<input
                type="file"
                class="visually-hidden"
                multiple
                accept=".pdf,.docx,.txt,.md,image/*"
                onChange=${(e: Event) => {
                  const input = e.target as HTMLInputElement;
                  if (input.files) void upload(input.files).then(() => (input.value = ''));
                }}
            /></label>
            ${
              streaming !== null
                ? html`<button type="button" class="danger" onClick=${stop}>Stop</button>`
                : html`<button type="submit" class="primary">Send</button>`
            }
          </div>
          ${
            attachments.length > 0 &&
            html`<ul class="attachments" aria-label="Attachments">
              ${attachments.map((a) => html`<li key=${a.id}>${a.filename}${a.pages !== null ? ` · ${a.pages} pages` : ''}${a.tokens !== null ? ` · ${a.tokens} tokens` : ''}</li>`)}
            </ul>`
          }
        </form>
      </section>
    </div>
  `;
}
