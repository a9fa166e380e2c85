import { Module } from '@nestjs/common';
import { LlmModule } from '../../llm/llm.module.js';
import { MeteringModule } from '../../metering/metering.module.js';
import { AccessModule } from '../access/access.module.js';
import { ImagesController } from './images.controller.js';
import { ImagesService } from './images.service.js';

@Module({
  imports: [LlmModule, MeteringModule, AccessModule],
  controllers: [ImagesController],
  providers: [ImagesService],
  exports: [ImagesService],
})
export class ImagesModule {}
