import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { ApiClient, ListPage } from './api-client.js';
import type { ModelInfo } from './api-types.js';
import { completeLine } from './chat-completer.js';
import { CHAT_COMMANDS, runChatCommand, type ChatState } from './chat-commands.js';
import { streamTurn } from './chat-turn.js';
import { isChatModel } from './commands/models.command.js';
import { describeError } from './error-line.js';
import type { Style } from './style.js';

const HISTORY_SIZE = 500;

export interface ChatSessionOptions {
  client: ApiClient;
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
  style: Style;
  /** Where typed lines are kept between sessions; null: only in memory. */
  historyFile: string | null;
  state: ChatState;
  /** Printed once before the first prompt. */
  banner: string;
}

/**
 * The interactive chat: a readline prompt with line editing, recall of typed lines and Tab
 * completion; answers printed as they stream in; slash commands. One request runs at a time and
 * Ctrl-C aborts it (the server keeps a stopped answer as incomplete), leaving the session open.
 */
export class ChatSession {
  private readonly terminal: boolean;
  private rl!: Interface;
  /** Lines typed while an answer was streaming wait here for their turn. */
  private readonly queued: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;
  /** The request in flight (an answer, an upload, a listing), for Ctrl-C to abort. */
  private current: AbortController | null = null;
  /** A first Ctrl-C at an empty prompt arms this; a second one leaves. */
  private exitArmed = false;
  private modelList: Promise<ModelInfo[]> | null = null;
  private knownIds: string[] = [];
  /** Typed lines, most recent first (readline's order). */
  private history: string[] = [];

  constructor(private readonly options: ChatSessionOptions) {
    this.terminal = Boolean(options.input.isTTY && options.output.isTTY);
  }

  private get state(): ChatState {
    return this.options.state;
  }

  async run(): Promise<number> {
    const { input, output, style } = this.options;
    this.history = this.terminal ? this.loadHistory() : [];
    this.rl = createInterface({
      input,
      output,
      terminal: this.terminal,
      prompt: style.bold(style.cyan('you ›')) + ' ',
      history: [...this.history],
      historySize: HISTORY_SIZE,
      removeHistoryDuplicates: true,
      completer: (line: string) => completeLine(line, { commands: CHAT_COMMANDS.map((c) => c.name), models: () => this.knownIds }),
    });
    this.rl.on('history', (history: string[]) => (this.history = history));
    this.rl.on('line', (line) => this.deliver(line));
    this.rl.on('close', () => {
      this.closed = true;
      // Ctrl-D in a terminal leaves at once; the end of piped input lets the last answer finish.
      if (this.terminal) this.current?.abort();
      this.deliver(null);
    });
    this.rl.on('SIGINT', () => this.interrupt());
    // Without a terminal Ctrl-C arrives as a signal rather than a keypress.
    const onSignal = () => this.interrupt();
    if (!this.terminal) process.on('SIGINT', onSignal);
    if (this.terminal) void this.models().catch(() => undefined);

    this.print(this.options.banner);
    let endedAtPrompt = false;
    try {
      for (;;) {
        if (this.terminal) this.rl.prompt();
        const line = await this.nextLine();
        if (line === null) {
          endedAtPrompt = true;
          break;
        }
        this.exitArmed = false;
        const text = line.trim();
        if (!text) continue;
        if (text.startsWith('/') && !text.startsWith('//')) {
          if ((await this.command(text)) === 'exit') break;
        } else {
          await this.send(text.startsWith('//') ? text.slice(1) : text);
        }
      }
    } finally {
      process.off('SIGINT', onSignal);
      if (this.terminal) this.saveHistory();
      this.rl.close();
      // Ctrl-D (or a second Ctrl-C) leaves the cursor after the prompt.
      if (this.terminal && endedAtPrompt) output.write('\n');
    }
    return 0;
  }

  private async send(text: string): Promise<void> {
    const { state } = this;
    const { style } = this.options;
    const controller = this.begin();
    let last = '\n';
    try {
      const result = await streamTurn(
        this.options.client,
        {
          message: text,
          model: state.model ?? undefined,
          profile: state.persona ?? undefined,
          conversation_id: state.conversationId ?? undefined,
          file_ids: state.pending.map((f) => f.id),
        },
        {
          signal: controller.signal,
          onConversation: (id) => (state.conversationId = id),
          onText: (piece) => {
            this.print(piece);
            last = piece;
          },
        },
      );
      if (!last.endsWith('\n')) this.print('\n');
      // Stopped or not, the server stored the message with its files: they are not sent again.
      state.pending = [];
      if (result.aborted) {
        this.print(style.dim('[stopped]') + '\n\n');
        return;
      }
      state.answeredBy = result.model ?? state.answeredBy;
      state.spent.answers++;
      state.spent.usd += result.cost ?? 0;
      state.spent.promptTokens += result.usage?.prompt_tokens ?? 0;
      state.spent.completionTokens += result.usage?.completion_tokens ?? 0;
      this.print('\n');
    } catch (err) {
      if (!last.endsWith('\n')) this.print('\n');
      this.printError(err);
    } finally {
      this.end(controller);
    }
  }

  private async command(line: string): Promise<'exit' | void> {
    const controller = this.begin();
    try {
      return await runChatCommand(
        {
          client: this.options.client,
          state: this.state,
          style: this.options.style,
          print: (text) => this.print(text),
          signal: controller.signal,
          models: () => this.models(),
        },
        line,
      );
    } catch (err) {
      if (controller.signal.aborted) this.print(this.options.style.dim('[cancelled]') + '\n');
      else this.printError(err);
    } finally {
      this.end(controller);
    }
  }

  private interrupt(): void {
    if (this.current) {
      this.current.abort();
      return;
    }
    if (this.terminal && this.rl.line.length) {
      // Like a shell: the typed text stays visible, the prompt starts afresh below it.
      this.rl.write(null, { ctrl: true, name: 'e' });
      this.print('\n');
      this.rl.write(null, { ctrl: true, name: 'u' });
      this.exitArmed = false;
      return;
    }
    if (this.exitArmed || !this.terminal) {
      this.rl.close();
      return;
    }
    this.exitArmed = true;
    this.print('\n' + this.options.style.dim('(To leave, press Ctrl-C again or Ctrl-D, or type /exit)') + '\n');
    this.rl.prompt();
  }

  private begin(): AbortController {
    this.current = new AbortController();
    return this.current;
  }

  private end(controller: AbortController): void {
    if (this.current === controller) this.current = null;
  }

  private deliver(line: string | null): void {
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = null;
      waiting(line);
    } else if (line !== null) {
      this.queued.push(line);
    }
  }

  private nextLine(): Promise<string | null> {
    if (this.queued.length) return Promise.resolve(this.queued.shift()!);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private models(): Promise<ModelInfo[]> {
    this.modelList ??= this.options.client.get<ListPage<ModelInfo>>('/v1/models').then(
      (list) => {
        const chat = list.data.filter(isChatModel);
        this.knownIds = chat.map((m) => m.id);
        return chat;
      },
      (err: unknown) => {
        this.modelList = null;
        throw err;
      },
    );
    return this.modelList;
  }

  private print(text: string): void {
    this.options.output.write(text);
  }

  private printError(err: unknown): void {
    this.print(this.options.style.red(`error: ${describeError(err).line}`) + '\n\n');
  }

  /** Most recent first, as readline wants it; the file is oldest first, like a shell's. */
  private loadHistory(): string[] {
    if (!this.options.historyFile) return [];
    try {
      return readFileSync(this.options.historyFile, 'utf8').split('\n').filter(Boolean).reverse().slice(0, HISTORY_SIZE);
    } catch {
      return [];
    }
  }

  private saveHistory(): void {
    if (!this.options.historyFile) return;
    const lines = [...this.history].reverse();
    try {
      mkdirSync(dirname(this.options.historyFile), { recursive: true, mode: 0o700 });
      writeFileSync(this.options.historyFile, lines.join('\n') + '\n', { mode: 0o600 });
    } catch {
      // History is a convenience: an unwritable directory must not spoil leaving the chat.
    }
  }
}
