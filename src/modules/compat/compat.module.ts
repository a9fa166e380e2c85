import { Module } from '@nestjs/common';

/**
 * The routes of the systems Colloquy replaces (Luma, Smart-Host, Llamalith), each a thin adapter
 * over the services the rest of the API uses: the same admission, metering and storage.
 */
@Module({
  imports: [],
  controllers: [],
  providers: [],
})
export class CompatModule {}
