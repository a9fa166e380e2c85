import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

export interface McpHttpServer {
  url: string;
  /** Authorization headers of the requests received. */
  authorizations: string[];
  close(): Promise<void>;
}

/**
 * A streamable-HTTP MCP server built from the SDK's own server classes (stateless: a server and
 * transport per request), with one tool: `lookup` answers the capital of a few countries.
 */
export async function startMcpHttpServer(): Promise<McpHttpServer> {
  const authorizations: string[] = [];
  const capitals: Record<string, string> = { france: 'Paris', norway: 'Oslo', japan: 'Tokyo' };
  const http = createServer((req, res) => {
    authorizations.push(String(req.headers.authorization ?? ''));
    void readJson(req).then(async (body) => {
      const server = new McpServer({ name: 'capitals', version: '1.0.0' });
      server.registerTool(
        'lookup',
        { description: 'The capital of a country.', inputSchema: { country: z.string().describe('A country name in English') } },
        async ({ country }) => {
          const capital = capitals[country.toLowerCase()];
          return capital
            ? { content: [{ type: 'text', text: capital }] }
            : { content: [{ type: 'text', text: `No capital known for ${country}` }], isError: true };
        },
      );
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    authorizations,
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text ? JSON.parse(text) : undefined;
}
