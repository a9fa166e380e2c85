import { Module } from '@nestjs/common';
import { CompletionsModule } from '../completions/completions.module.js';
import { ConversationsModule } from '../conversations/conversations.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { ChatController } from './chat.controller.js';
import { ChatService } from './chat.service.js';

@Module({
  imports: [CompletionsModule, ConversationsModule, SessionsModule, UsageModule],
  controllers: [ChatController],
  providers: [ChatService],
})
export class ChatModule {}
