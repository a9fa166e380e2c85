/**
 * Where a streamed answer goes: Server-Sent Events on an HTTP response or frames on a WebSocket,
 * both built at the edge; services write to this and never see the transport. Opened once the
 * first chunk is in hand, so that a failure before it is still an ordinary error.
 */
export interface ChunkSink {
  /** Commits the stream with these headers (for SSE: the 200 and its headers). */
  open(headers: Record<string, string>): void;
  /** One chunk; resolves when the transport can take more. */
  send(data: unknown): Promise<void>;
  /** An error after the stream began, mapped like any other (for SSE: an in-band `data: {"error": …}` frame). */
  fail(error: unknown): Promise<void>;
  /** The end of this answer (for SSE: `data: [DONE]` and the end of the response). */
  end(): void;
  /** The client went away (or cancelled) before the end. */
  readonly clientGone: boolean;
  /** Called once if the client goes away before the end. */
  onClientGone(listener: () => void): void;
  /** Called once when this answer's stream is over, ended or abandoned. */
  onClose(listener: () => void): void;
}
