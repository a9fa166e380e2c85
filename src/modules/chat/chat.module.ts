import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { CompletionsModule } from '../completions/completions.module.js';
import { ConversationsModule } from '../conversations/conversations.module.js';
import { FilesModule } from '../files/files.module.js';
import { LimitsModule } from '../limits/limits.module.js';
import { MemoriesModule } from '../memories/memories.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { ChatController } from './chat.controller.js';
import { ChatSocket } from './chat-socket.js';
import { ChatService } from './chat.service.js';
import { MultipartChatInterceptor } from './multipart-chat.interceptor.js';

@Module({
  imports: [AuthModule, CompletionsModule, ConversationsModule, SessionsModule, UsageModule, FilesModule, LimitsModule, MemoriesModule],
  controllers: [ChatController],
  providers: [ChatService, ChatSocket, MultipartChatInterceptor],
  exports: [ChatService, ChatSocket],
})
export class ChatModule {}
