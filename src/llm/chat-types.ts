/**
 * The OpenAI chat wire types the server works with. Requests are validated at the edge with zod
 * (see modules/completions/completions.schemas.ts); these are the shapes past that point.
 */
export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';

export interface TextPart {
  type: 'text';
  text: string;
}
export interface ImagePart {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' };
}
export interface FilePart {
  type: 'file';
  file: { file_id?: string; file_data?: string; filename?: string };
}
export interface AudioPart {
  type: 'input_audio';
  input_audio: { data: string; format: string };
}
/** In assistant messages: what the model declined to say. */
export interface RefusalPart {
  type: 'refusal';
  refusal: string;
}
/** Every kind of content part the API accepts (others are refused at validation). */
export type ContentPart = TextPart | ImagePart | FilePart | AudioPart | RefusalPart;

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: Role;
  content: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  [key: string]: unknown;
}

/** A chat completion request body as sent upstream (OpenAI's, with unknown fields passed on). */
export interface ChatRequestBody {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  tools?: unknown[];
  user?: string;
  n?: number | null;
  [key: string]: unknown;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; [key: string]: unknown } | null;
  completion_tokens_details?: { reasoning_tokens?: number; [key: string]: unknown } | null;
  [key: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; refusal?: string | null; tool_calls?: ToolCall[]; [key: string]: unknown };
    logprobs: unknown;
    finish_reason: string | null;
  }>;
  usage?: Usage | null;
  [key: string]: unknown;
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: string; content?: string | null; tool_calls?: unknown[]; refusal?: string | null; [key: string]: unknown };
    logprobs?: unknown;
    finish_reason: string | null;
  }>;
  usage?: Usage | null;
  [key: string]: unknown;
}
