import { Module } from '@nestjs/common';
import { AttachmentResolver } from './attachment-resolver.service.js';
import { TextExtractor } from './documents/text-extractor.js';
import { FileIngestor } from './file-ingestor.service.js';
import { FilesController } from './files.controller.js';
import { FilesRepository } from './files.repository.js';
import { FilesService } from './files.service.js';
import { OpenAIFilesController } from './openai-files.controller.js';

@Module({
  controllers: [FilesController, OpenAIFilesController],
  providers: [
    FilesRepository,
    FilesService,
    FileIngestor,
    AttachmentResolver,
    // Workers start on the first document, not at boot.
    { provide: TextExtractor, useFactory: () => new TextExtractor() },
  ],
  exports: [FilesService, FileIngestor, AttachmentResolver],
})
export class FilesModule {}
