import { Injectable } from '@nestjs/common';
import { endUserOf, type Caller } from '../../../common/http/caller.js';
import type { Answer, CallSession } from '../../../common/streaming/answer.js';
import { ModelCatalog, type ModelKind } from '../../../llm/model-catalog.js';
import { ConversationsService } from '../../conversations/conversations.service.js';
import type { EmbeddingListView } from '../../embeddings/embeddings.schemas.js';
import { EmbeddingsService } from '../../embeddings/embeddings.service.js';
import type { ImagesResponseView } from '../../images/images.schemas.js';
import { ImagesService } from '../../images/images.service.js';
import type { DeletedMemoriesView } from '../../memories/memories.schemas.js';
import { MemoriesService } from '../../memories/memories.service.js';
import { MEMORY_STATUS_MAX_IDS, type MemoryStatusView, type SmartHostEmbedBody, type SmartHostImageBody } from './smart-host.schemas.js';

/** Smart-Host's routes besides /chat, /ws_chat and the tools: its `provider` read as a model choice, its memory routes over conversations and memories. */
@Injectable()
export class SmartHostService {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly embeddings: EmbeddingsService,
    private readonly images: ImagesService,
    private readonly conversations: ConversationsService,
    private readonly memories: MemoriesService,
  ) {}

  embed(caller: Caller, body: SmartHostEmbedBody, session: CallSession): Promise<Answer<EmbeddingListView>> {
    const { provider, ...rest } = body;
    return this.embeddings.create(caller, { ...rest, model: this.modelOf(provider, rest.model, 'embedding') }, session);
  }

  image(caller: Caller, body: SmartHostImageBody, session: CallSession): Promise<Answer<ImagesResponseView>> {
    const { provider, ...rest } = body;
    return this.images.generate(caller, { ...rest, model: this.modelOf(provider, rest.model, 'image') }, session);
  }

  forgetConversation(caller: Caller, ref: string, endUser: string | undefined) {
    return this.conversations.removeOfEndUser(caller, ref, endUser === undefined ? undefined : endUserOf(caller, endUser));
  }

  forgetUser(caller: Caller, endUser: string): Promise<DeletedMemoriesView> {
    return this.memories.forgetEndUser(caller, endUser);
  }

  async status(caller: Caller): Promise<MemoryStatusView> {
    const [history, holders] = await Promise.all([this.conversations.withHistory(caller, MEMORY_STATUS_MAX_IDS), this.memories.holders(caller)]);
    return {
      object: 'memory.status',
      conversation_memory: {
        count: history.total,
        ids: history.rows.map((r) => r.key ?? r.id),
        conversations: history.rows.map((r) => ({ id: r.id, key: r.key, user_id: r.end_user || null, messages: r.messages })),
      },
      user_memory: { count: holders.length, ids: holders.map((h) => h.user_id), users: holders },
    };
  }

  /** `model` within `provider` when one is named; else the model as given (or the kind's default). */
  private modelOf(provider: string | undefined, model: string | undefined, kind: ModelKind): string {
    if (provider) return this.catalog.idWithin(provider, model, kind);
    return model ?? this.catalog.resolve(undefined, kind).id;
  }
}
