import { Module } from '@nestjs/common';
import { LlmModule } from '../../llm/llm.module.js';
import { MeteringModule } from '../../metering/metering.module.js';
import { PersistenceModule } from '../../persistence/persistence.module.js';
import { AccessModule } from '../access/access.module.js';
import { CompletionsModule } from '../completions/completions.module.js';
import { ConversationsModule } from '../conversations/conversations.module.js';
import { FilesModule } from '../files/files.module.js';
import { MemoriesModule } from '../memories/memories.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { ToolsModule } from '../tools/tools.module.js';
import { ChatController } from './chat.controller.js';
import { ChatExchanges } from './chat-exchanges.js';
import { ChatExchangesRepository } from './chat-exchanges.repository.js';
import { ChatSocket } from './chat-socket.js';
import { ChatTurns } from './chat-turns.js';
import { ChatService } from './chat.service.js';
import { MultipartChatInterceptor } from './multipart-chat.interceptor.js';

@Module({
  imports: [
    LlmModule,
    PersistenceModule,
    MeteringModule,
    AccessModule,
    CompletionsModule,
    ConversationsModule,
    SessionsModule,
    FilesModule,
    MemoriesModule,
    ToolsModule,
  ],
  controllers: [ChatController],
  providers: [ChatTurns, ChatExchanges, ChatExchangesRepository, ChatService, ChatSocket, MultipartChatInterceptor],
  exports: [ChatService, ChatSocket],
})
export class ChatModule {}
