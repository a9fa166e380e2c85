import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { DomainError } from '../../../common/errors/domain-error.js';
import type { AppLogger } from '../../../common/logging/logger.js';
import { InjectLogger } from '../../../common/logging/logger.token.js';
import { AppConfig } from '../../../config/app-config.js';
import type { McpServerEntry } from '../../../config/config.schema.js';
import type { ToolOutput } from '../tool-definition.js';

/** Reconnection waits double from this up to MAX_BACKOFF_MS while a server stays away. */
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

export type McpStatus = 'connecting' | 'connected' | 'down';

/** One MCP server's state, as /health shows it. */
export interface McpServerState {
  status: McpStatus;
  transport: McpServerEntry['type'];
  tools: number;
  /** Since when it is in this state (unix seconds). */
  since: number;
  /** Why it is down (the first line of the error). */
  error?: string;
  /** Connection attempts that failed in a row. */
  failures?: number;
}

/** A tool an MCP server lists. */
export interface McpTool {
  server: string;
  tool: Tool;
}

interface Connection {
  entry: McpServerEntry;
  status: McpStatus;
  since: number;
  error: string | null;
  failures: number;
  /** The last tools it listed; kept while it is down, so they are shown as unavailable. */
  tools: Tool[];
  client: Client | null;
  transport: Transport | null;
  retry: NodeJS.Timeout | null;
}

/**
 * The configured MCP servers (`mcp_servers`), through the SDK's client: connected in the
 * background at start (the server is ready without them), listed, called, and reconnected with
 * backoff when one fails or exits; its tools stay listed as unavailable meanwhile.
 */
@Injectable()
export class McpServers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly connections = new Map<string, Connection>();
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    @InjectLogger() private readonly logger: AppLogger,
  ) {
    for (const entry of config.mcpServers) {
      this.connections.set(entry.name, {
        entry,
        status: 'connecting',
        since: Date.now(),
        error: null,
        failures: 0,
        tools: [],
        client: null,
        transport: null,
        retry: null,
      });
    }
  }

  onApplicationBootstrap(): void {
    for (const connection of this.connections.values()) void this.connect(connection);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.connections.values()].map((c) => this.disconnect(c)));
  }

  /** Every tool of every server, with whether its server is connected. */
  tools(): Array<McpTool & { available: boolean }> {
    return [...this.connections.values()].flatMap((c) =>
      c.tools.map((tool) => ({ server: c.entry.name, tool, available: c.status === 'connected' })),
    );
  }

  states(): Record<string, McpServerState> {
    return Object.fromEntries(
      [...this.connections.values()].map((c) => [
        c.entry.name,
        {
          status: c.status,
          transport: c.entry.type,
          tools: c.tools.length,
          since: Math.floor(c.since / 1000),
          ...(c.error ? { error: c.error } : {}),
          ...(c.failures ? { failures: c.failures } : {}),
        },
      ]),
    );
  }

  /** The process id of a stdio server while it runs (operators and tests). */
  processId(server: string): number | null {
    const transport = this.connections.get(server)?.transport;
    return transport instanceof StdioClientTransport ? transport.pid : null;
  }

  /**
   * Calls one tool. 503 tool_unavailable while its server is not connected (or when it goes away
   * during the call); 400 invalid_tool_arguments when the server refuses the arguments; the
   * signal aborts the request (the SDK tells the server it was cancelled).
   */
  async call(server: string, tool: string, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutput> {
    const connection = this.connections.get(server);
    if (!connection?.client || connection.status !== 'connected') throw unavailable(server);
    try {
      const result = await connection.client.callTool({ name: tool, arguments: args }, undefined, {
        signal,
        // The caller's signal carries tools.timeout_ms; the SDK's own default (60 s) must not cut in first.
        timeout: 24 * 3600_000,
      });
      return { content: result.structuredContent ?? result.content, isError: result.isError === true };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (err instanceof McpError && err.code === (ErrorCode.InvalidParams as number)) {
        throw new DomainError('invalid', `${server}.${tool}: ${err.message}`, { code: 'invalid_tool_arguments', param: 'arguments' });
      }
      if ((err instanceof McpError && err.code === (ErrorCode.ConnectionClosed as number)) || connection.status !== 'connected')
        throw unavailable(server);
      throw err;
    }
  }

  private async connect(c: Connection): Promise<void> {
    if (this.stopping) return;
    c.retry = null;
    this.setStatus(c, 'connecting');
    const client = new Client({ name: 'colloquy', version: this.config.version });
    const transport = this.transportFor(c.entry);
    c.client = client;
    c.transport = transport;
    client.onclose = () => {
      if (c.client === client && !this.stopping) this.lost(c, new Error('the server closed the connection'));
    };
    client.onerror = (err) => this.logger.debug({ server: c.entry.name, err: err.message }, 'MCP transport error');
    try {
      await withTimeout(client.connect(transport), c.entry.timeout_ms ?? this.config.tools.timeoutMs, 'connecting');
      c.tools = await this.listTools(client, c.entry);
      client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
        try {
          c.tools = await this.listTools(client, c.entry);
        } catch (err) {
          this.logger.warn({ server: c.entry.name, err: (err as Error).message }, 'MCP server tools could not be listed again');
        }
      });
      if (c.client !== client) return;
      c.failures = 0;
      c.error = null;
      this.setStatus(c, 'connected');
      this.logger.info({ server: c.entry.name, tools: c.tools.length }, 'MCP server connected');
    } catch (err) {
      if (c.client === client) this.lost(c, err);
    }
  }

  private lost(c: Connection, err: unknown): void {
    if (this.stopping || c.status === 'down') return;
    const client = c.client;
    c.client = null;
    c.transport = null;
    c.failures++;
    c.error = String((err as Error)?.message ?? err)
      .split('\n')[0]
      .slice(0, 200);
    this.setStatus(c, 'down');
    void client?.close().catch(() => undefined);
    const delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (c.failures - 1));
    this.logger.warn({ server: c.entry.name, err: c.error, retryInMs: delay }, 'MCP server unavailable; retrying');
    c.retry = setTimeout(() => void this.connect(c), delay);
    c.retry.unref();
  }

  private async disconnect(c: Connection): Promise<void> {
    if (c.retry) clearTimeout(c.retry);
    const client = c.client;
    c.client = null;
    await client?.close().catch(() => undefined);
  }

  private setStatus(c: Connection, status: McpStatus): void {
    if (c.status !== status) c.since = Date.now();
    c.status = status;
  }

  private async listTools(client: Client, entry: McpServerEntry): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: entry.timeout_ms ?? this.config.tools.timeoutMs });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor && tools.length < 10_000);
    return tools;
  }

  private transportFor(entry: McpServerEntry): Transport {
    if (entry.type === 'stdio') {
      const transport = new StdioClientTransport({
        command: entry.command,
        args: entry.args,
        env: { ...getDefaultEnvironment(), ...entry.env },
        ...(entry.cwd ? { cwd: entry.cwd } : {}),
        stderr: 'pipe',
      });
      // Read what the server writes to stderr (a full pipe would stall it); kept at debug level.
      transport.stderr?.on('data', (chunk: Buffer) =>
        this.logger.debug({ server: entry.name, stderr: chunk.toString().slice(0, 500) }, 'MCP server stderr'),
      );
      return transport;
    }
    return new StreamableHTTPClientTransport(new URL(entry.url), { requestInit: { headers: entry.headers } });
  }
}

function unavailable(server: string): DomainError {
  return new DomainError('upstream_unavailable', `The MCP server '${server}' is not connected; try again shortly.`, { code: 'tool_unavailable' });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms while ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
