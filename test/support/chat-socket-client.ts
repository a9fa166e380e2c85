import WebSocket from 'ws';

/** A frame the chat socket (GET /chat/ws) sends. */
export interface SocketFrame {
  type: 'chunk' | 'error' | 'done';
  id: string | null;
  data?: any;
  status?: number;
  error?: { message: string; type: string; param: string | null; code: string | null };
  cancelled?: boolean;
}

export interface ChatSocketClient {
  socket: WebSocket;
  /** Every frame received so far. */
  frames: SocketFrame[];
  send(message: object): void;
  /** The frames of the next turn, through its `done` (resolves when that frame arrives). */
  nextTurn(): Promise<SocketFrame[]>;
  /** The first frame of the current turn (received already or when it arrives) that matches. */
  frame(match: (frame: SocketFrame) => boolean): Promise<SocketFrame>;
  /** Resolves with the close code once the socket has closed. */
  closed: Promise<number>;
}

/** A frame carrying answer text (the role chunk and the usage chunk carry none). */
export const isContent = (f: SocketFrame) => f.type === 'chunk' && Boolean(f.data?.choices?.[0]?.delta?.content);

/** The answer text of a turn's frames. */
export const contentOf = (turn: SocketFrame[]) =>
  turn
    .filter((f) => f.type === 'chunk')
    .map((f) => f.data.choices?.[0]?.delta?.content ?? '')
    .join('');

/**
 * Opens the chat socket with a key in the Authorization header or with subprotocols (as a browser
 * would), and records its frames; waits are on the frames as they arrive, never on time.
 */
export async function connectChatSocket(
  url: string,
  options: { key?: string; protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<ChatSocketClient> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/chat/ws`, options.protocols ?? [], {
    headers: { ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...options.headers },
  });
  const frames: SocketFrame[] = [];
  const watchers = new Set<() => void>();
  let closeCode: number | null = null;
  const closed = new Promise<number>((resolve) =>
    socket.once('close', (code) => {
      closeCode = code;
      for (const watcher of [...watchers]) watcher();
      resolve(code);
    }),
  );
  socket.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as SocketFrame);
    for (const watcher of [...watchers]) watcher();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });

  let seen = 0;
  /** Resolves with the index of the first frame from `seen` on that matches; rejects once the socket closed without one. */
  const findFrom = (match: (frame: SocketFrame) => boolean) =>
    new Promise<number>((resolve, reject) => {
      const check = () => {
        const index = frames.findIndex((f, i) => i >= seen && match(f));
        if (index >= 0) {
          watchers.delete(check);
          resolve(index);
        } else if (closeCode !== null) {
          watchers.delete(check);
          reject(new Error(`the socket closed (${closeCode}) first; frames: ${JSON.stringify(frames.slice(seen))}`));
        }
      };
      watchers.add(check);
      check();
    });

  return {
    socket,
    frames,
    closed,
    send: (message) => socket.send(JSON.stringify(message)),
    nextTurn: async () => {
      const end = (await findFrom((f) => f.type === 'done')) + 1;
      const turn = frames.slice(seen, end);
      seen = end;
      return turn;
    },
    frame: async (match) => frames[await findFrom(match)],
  };
}

/** Opens Smart-Host's /ws_chat (with a key, or none), sends one message and collects its text frames through `[END]`. */
export async function smartHostSocketTurn(url: string, key: string | null, message: unknown): Promise<string[]> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/ws_chat`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const frames: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const ended = new Promise<void>((resolve, reject) => {
      socket.on('message', (data) => {
        frames.push(data.toString());
        if (data.toString() === '[END]') resolve();
      });
      socket.once('close', () => reject(new Error(`closed before [END]: ${JSON.stringify(frames)}`)));
    });
    socket.send(typeof message === 'string' ? message : JSON.stringify(message));
    await ended;
    return frames;
  } finally {
    socket.close();
  }
}
