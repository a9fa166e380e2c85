/** The server's JSON shapes the CLI reads (a subset: see src/modules/<name>/<name>.schemas.ts). */

export interface ModelInfo {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** Only personas carry one. */
  description?: string;
  /** Colloquy's addition: what the entry is for. */
  kind?: 'model' | 'persona' | 'embedding' | 'image';
}

export interface Me {
  id: string;
  name: string;
  email: string | null;
  role: 'admin' | 'user';
}

export interface ConversationInfo {
  id: string;
  title: string | null;
  tags: string[];
  model: string | null;
  profile: string | null;
  message_count: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
  created_at: number;
  updated_at: number;
  last_used_at: number;
  session_id: string | null;
  files?: Array<{ id: string; filename: string; mime_type: string; kind: string; bytes: number }>;
}

export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'file'; file: { file_id?: string; filename?: string } }
  | { type: 'image_url'; image_url: { url: string } }
  | { type: string; [key: string]: unknown };

export interface MessageInfo {
  id: string;
  role: string;
  content: string | ContentPart[] | null;
  model: string | null;
  status: 'complete' | 'incomplete' | 'error';
  usage: { prompt_tokens: number; completion_tokens: number } | null;
  created_at: number;
}

export interface FileInfo {
  id: string;
  object: 'file';
  filename: string;
  bytes: number;
  created_at: number;
  purpose: string;
  status: string;
  mime_type: string;
  kind: string;
  sha256: string;
  pages: number | null;
  tokens: number | null;
}

export interface UsageTotals {
  requests: number;
  errors: number;
  aborted: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  cost_usd: number;
}

export interface UsageReport {
  object: 'usage.report';
  from: string;
  to: string;
  group_by: string;
  totals: UsageTotals;
  data: Array<UsageTotals & { group: string | null }>;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
}

/** POST /chat without streaming. */
export interface ChatResponse {
  id: string;
  object: 'chat.completion';
  model: string;
  choices: Array<{ index: number; message: { role: string; content: string | null }; finish_reason: string | null }>;
  usage?: Usage;
  conversation_id: string;
  session_id: string;
  cost: number;
}

/** One `data:` frame of POST /chat with stream: true. */
export interface ChatChunk {
  id?: string;
  model?: string;
  choices?: Array<{ index: number; delta?: { content?: string | null }; finish_reason?: string | null }>;
  usage?: Usage;
  conversation_id?: string;
  session_id?: string;
  cost?: number;
  error?: { message?: string; type?: string; code?: string | null };
}
