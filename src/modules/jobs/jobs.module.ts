import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ChatModule } from '../chat/chat.module.js';
import { ConversationsModule } from '../conversations/conversations.module.js';
import { PersistenceModule } from '../../persistence/persistence.module.js';
import { AccessModule } from '../access/access.module.js';
import { ChatJobRunner } from './chat-job-runner.js';
import { JobQueue } from './job-queue.js';
import { JobRunner } from './job-runner.js';
import { JobsController } from './jobs.controller.js';
import { JobsRepository } from './jobs.repository.js';
import { JobsService } from './jobs.service.js';
import { JobsWorker } from './jobs.worker.js';
import { LlmModule } from '../../llm/llm.module.js';

@Module({
  imports: [LlmModule, PersistenceModule, AuthModule, AccessModule, ChatModule, ConversationsModule],
  controllers: [JobsController],
  providers: [
    JobsRepository,
    { provide: JobQueue, useExisting: JobsRepository },
    { provide: JobRunner, useClass: ChatJobRunner },
    JobsService,
    JobsWorker,
  ],
  exports: [JobsService],
})
export class JobsModule {}
