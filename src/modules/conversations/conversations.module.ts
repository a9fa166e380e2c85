import { Module } from '@nestjs/common';
import { FilesModule } from '../files/files.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { ConversationsController } from './conversations.controller.js';
import { ConversationsRepository } from './conversations.repository.js';
import { ConversationsService } from './conversations.service.js';
import { PersistenceModule } from '../../persistence/persistence.module.js';
import { LlmModule } from '../../llm/llm.module.js';

@Module({
  imports: [PersistenceModule, LlmModule, SessionsModule, FilesModule],
  controllers: [ConversationsController],
  providers: [ConversationsRepository, ConversationsService],
  exports: [ConversationsService],
})
export class ConversationsModule {}
