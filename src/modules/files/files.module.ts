import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { AttachmentResolver } from './attachment-resolver.service.js';
import { TextExtractor } from './documents/text-extractor.js';
import { FileIngestor } from './file-ingestor.service.js';
import { FilesController } from './files.controller.js';
import { FilesRepository } from './files.repository.js';
import { FilesService } from './files.service.js';
import { OpenAIFilesController } from './openai-files.controller.js';
import { PersistenceModule } from '../../persistence/persistence.module.js';
import { StorageModule } from '../../storage/storage.module.js';
import { LlmModule } from '../../llm/llm.module.js';

@Module({
  imports: [PersistenceModule, StorageModule, LlmModule],
  controllers: [FilesController, OpenAIFilesController],
  providers: [
    FilesRepository,
    FilesService,
    FileIngestor,
    AttachmentResolver,
    // Workers start on the first document, not at boot.
    {
      provide: TextExtractor,
      useFactory: (config: AppConfig) => new TextExtractor({ timeoutMs: config.limits.extractionTimeoutMs }),
      inject: [AppConfig],
    },
  ],
  exports: [FilesService, FileIngestor, AttachmentResolver],
})
export class FilesModule {}
