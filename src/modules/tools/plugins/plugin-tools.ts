import { Injectable, type OnModuleInit } from '@nestjs/common';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppLogger } from '../../../common/logging/logger.js';
import { InjectLogger } from '../../../common/logging/logger.token.js';
import { AppConfig } from '../../../config/app-config.js';
import type { ToolDefinition, ToolOutput } from '../tool-definition.js';

/** What a plugin's `run` is given besides its arguments. */
export interface PluginContext {
  /** The id of the user the call is for. */
  userId: string;
  role: 'admin' | 'user';
  /** Fires when the call is aborted (the client left, the turn was cancelled) or timed out. */
  signal: AbortSignal;
}

/** The shape a plugin file exports (as named exports, or as its default export). */
export interface PluginModule {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  run(args: Record<string, unknown>, ctx: PluginContext): unknown;
}

const PLUGIN_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * Local plugin tools: every `*.mjs` in tools.plugins_dir (TOOLS_PLUGINS_DIR), loaded once at
 * start. They are operator code, trusted as such: they run in the server's process with its
 * rights. A file that does not load or does not have the expected shape is logged and skipped.
 */
@Injectable()
export class PluginTools implements OnModuleInit {
  private loaded: ToolDefinition[] = [];

  constructor(
    private readonly config: AppConfig,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  get tools(): readonly ToolDefinition[] {
    return this.loaded;
  }

  async onModuleInit(): Promise<void> {
    const dir = this.config.tools.pluginsDir;
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith('.mjs')).sort();
    } catch {
      return; // No plugins directory: no plugins.
    }
    const seen = new Set<string>();
    for (const file of files) {
      const path = join(dir, file);
      try {
        const plugin = pluginOf((await import(path)) as Record<string, unknown>);
        if (seen.has(plugin.name)) throw new Error(`another plugin is already named '${plugin.name}'`);
        seen.add(plugin.name);
        this.loaded.push(definitionOf(plugin));
        this.logger.info({ plugin: plugin.name, file }, 'plugin tool loaded');
      } catch (err) {
        this.logger.error({ file: path, err: (err as Error).message }, 'plugin tool not loaded');
      }
    }
  }
}

function pluginOf(module: Record<string, unknown>): PluginModule {
  const candidate = (typeof module.run === 'function' ? module : (module.default ?? module)) as Partial<PluginModule>;
  if (typeof candidate.name !== 'string' || !PLUGIN_NAME.test(candidate.name)) {
    throw new Error('it must export a name of lowercase letters, digits, - and _ (at most 64)');
  }
  if (typeof candidate.run !== 'function') throw new Error('it must export a run(args, ctx) function');
  const parameters = candidate.parameters ?? { type: 'object', properties: {} };
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters) || (parameters as { type?: unknown }).type !== 'object') {
    throw new Error('its parameters must be a JSON Schema of type object');
  }
  return { name: candidate.name, description: String(candidate.description ?? ''), parameters, run: candidate.run.bind(candidate) };
}

function definitionOf(plugin: PluginModule): ToolDefinition {
  return {
    name: plugin.name,
    description: plugin.description ?? '',
    inputSchema: plugin.parameters!,
    source: 'plugin',
    available: () => true,
    run: async (args, { caller, signal }): Promise<ToolOutput> => {
      const content = await plugin.run(args, { userId: caller.userId, role: caller.role, signal });
      return { content: content === undefined ? null : content };
    },
  };
}
