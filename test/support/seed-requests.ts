import { documentFixture } from './documents.js';

/**
 * The requests of the five seed READMEs (/work/shared/seeds/000–004), copied as data, for the
 * compatibility suites: each runs them with a key, and seed-guests runs them all with none under
 * guest access. SEED_CONFIG is what they need in the catalog besides the stand-in's models.
 */
/**
 * LuminaryChat's README curl examples (000_9a1e8eac3e891c5d.txt), as data: no API key, JSON bodies
 * exactly as written there. Under guest access they work against Colloquy unchanged.
 */
export const LUMINARY_EXAMPLES = {
  listModels: { method: 'GET', path: '/v1/models', headers: {}, body: undefined },
  chat: {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'Content-Type': 'application/json' },
    body: `{
    "model": "luminary/socrates",
    "messages": [
      {"role": "user", "content": "What is wisdom?"}
    ]
  }`,
  },
  stream: {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'Content-Type': 'application/json' },
    body: `{
    "model": "luminary/sun_tzu",
    "stream": true,
    "messages": [
      {"role": "user", "content": "How to prepare for conflict?"}
    ]
  }`,
  },
} as const;

/**
 * Luma's request bodies. The seed README (/work/shared/seeds/001_*.txt) shows no literal request;
 * these are what it describes: OpenAI messages in the roles system, user and assistant, sent
 * bare (the persona's tuned parameters apply) or with its therapy-context sampling parameters.
 */
export const LUMA_REQUESTS = {
  bare: { messages: [{ role: 'user', content: 'I had a rough day at work.' }] },
  conversation: {
    messages: [
      { role: 'system', content: 'You are Luma, a warm and empathetic companion.' },
      { role: 'user', content: 'I keep putting things off.' },
      { role: 'assistant', content: 'That sounds heavy. What do you notice right before you put something off?' },
      { role: 'user', content: 'Mostly worry that it will not be good enough.' },
    ],
  },
  tuned: {
    messages: [{ role: 'user', content: 'How can I feel calmer before sleep?' }],
    temperature: 0.7,
    max_tokens: 1000,
    frequency_penalty: 0.5,
    presence_penalty: 0.5,
  },
} as const;

// The requests of Smart-Host's README (seed 002), copied as data.
export const SMART_HOST = {
  chat: {
    provider: 'openai',
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Hello, how are you?' },
    ],
    model: 'gpt-3.5-turbo',
    profile: 'default',
    chat_id: 'user-123',
  },
  embed: { provider: 'openai', input: 'Text to embed', model: 'text-embedding-ada-002' },
  image: { provider: 'openai', prompt: 'A beautiful sunset over the ocean' },
  callTool: { name: 'tool_name', args: ['arg1', 'arg2'], kwargs: { param1: 'value1' } },
  socket: { provider: 'openai', messages: [{ role: 'user', content: 'Tell me a story' }] },
  profile: { provider: 'openai', messages: [{ role: 'user', content: 'Help me with Python' }], profile: 'programmer' },
  memory: [
    {
      provider: 'openai',
      messages: [{ role: 'user', content: 'My name is Alice and I love blue.' }],
      chat_id: 'conversation-1',
      user_id: 'user-123',
      save_to_user_memory: true,
    },
    { provider: 'openai', messages: [{ role: 'user', content: "What's my name?" }], chat_id: 'conversation-1', user_id: 'user-123' },
    {
      provider: 'openai',
      messages: [{ role: 'user', content: "What's my favorite color?" }],
      chat_id: 'conversation-2',
      user_id: 'user-123',
      include_user_memory: true,
    },
  ],
};

// The requests of Llamalith's README (seed 003), copied as data.
export const LLAMALITH = {
  submit: {
    user_input: 'Write a 3-paragraph bedtime story about a friendly dragon.',
    model: 'mistral',
    session_id: 'story-123',
    system_prompt: 'You are a gentle storyteller who writes soothing bedtime stories for kids age 4–7.',
  },
  curl: {
    user_input: 'Write a 2-paragraph bedtime story about a shy comet.',
    model: 'mistral',
    session_id: 'n8n-demo-1',
    system_prompt: 'You are a gentle storyteller; keep vocabulary simple.',
  },
  // n8n's `story-{{$json.conversationId}}`, filled in.
  n8n: {
    user_input: 'Write a short bedtime story about a curious otter.',
    model: 'mistral',
    session_id: 'story-7f3a',
    system_prompt: 'You are a gentle storyteller…',
  },
  list: '/chat/api/jobs?conversation_id=story-123&status=processing&limit=50',
};

// The requests of TextLLM's README (seed 004), copied as data. Its image example's `base64,...` is
// a placeholder: a real JPEG stands in for it.
const PHOTO = `data:image/jpeg;base64,${documentFixture('photo.jpg').toString('base64')}`;
export const TEXTLLM = {
  curl: { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello!' }] },
  text: {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'Hello!' },
    ],
    stream: false,
    temperature: 1.0,
  },
  image: {
    model: 'gpt-4o',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: "What's this?" },
          { type: 'image_url', image_url: { url: PHOTO } },
        ],
      },
    ],
  },
  multipart: { messages: '[{"role":"user","content":"Summarize"}]', file: 'document.pdf' },
};

/**
 * The catalog the seed requests name, on the stand-in: Smart-Host's `openai` provider with a chat,
 * an embedding and an image model (TextLLM's gpt-4o is its chat model), and Llamalith's `mistral`
 * as an alias.
 */
export const SEED_CONFIG = {
  providers: { openai: { api_key: 'sk-standin-openai' } },
  models: [
    {
      id: 'gpt-4o',
      provider: 'openai',
      upstream_id: 'gpt-4o-standin',
      context_window: 128000,
      vision: true,
      tools: true,
      pricing: { input: 2.5, output: 10 },
    },
    {
      id: 'openai-embed',
      provider: 'openai',
      upstream_id: 'text-embedding-ada-002',
      type: 'embedding',
      dimensions: 8,
      context_window: 8191,
      pricing: { input: 0.1, output: 0 },
    },
    {
      id: 'openai-image',
      provider: 'openai',
      upstream_id: 'dall-e-3',
      type: 'image',
      context_window: 4000,
      pricing: { input: 0, output: 0, per_image: 0.04 },
    },
  ],
  model_aliases: { mistral: 'standin-gpt' },
};
