import { Module } from '@nestjs/common';
import { CompletionsModule } from '../completions/completions.module.js';
import { ImagesController } from './images.controller.js';
import { ImagesService } from './images.service.js';

@Module({
  imports: [CompletionsModule],
  controllers: [ImagesController],
  providers: [ImagesService],
})
export class ImagesModule {}
