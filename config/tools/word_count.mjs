// An example plugin tool (see the README, "Tools"). Every *.mjs file in this directory
// (tools.plugins_dir, TOOLS_PLUGINS_DIR) is loaded at start; by default admins may use plugin
// tools (tools.allow). Plugins are operator code: they run inside the server with its rights.

export const name = 'word_count';

export const description = 'Counts the words, characters and lines of a text.';

/** JSON Schema of the arguments; calls that do not fit it are refused before run() is called. */
export const parameters = {
  type: 'object',
  properties: { text: { type: 'string', description: 'The text to count.' } },
  required: ['text'],
  additionalProperties: false,
};

/**
 * `args` fit `parameters`; `ctx` has the caller's `userId` and `role`, and a `signal` that fires
 * when the call is aborted or passes tools.timeout_ms. Return text or any JSON value.
 */
export function run(args, ctx) {
  void ctx;
  const text = args.text;
  return {
    words: text.split(/\s+/).filter(Boolean).length,
    characters: [...text].length,
    lines: text === '' ? 0 : text.split('\n').length,
  };
}
