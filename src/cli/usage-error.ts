/** A mistake in how the command was called (unknown option, missing argument): exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  constructor(
    message: string,
    /** Where to look next, e.g. "colloquy files --help". */
    readonly hint?: string,
  ) {
    super(message);
  }
}
