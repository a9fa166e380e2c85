import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { DomainError } from '../common/errors/domain-error.js';
import { ApiErrors } from '../common/http/api-docs.js';
import { Public } from '../common/http/route-access.js';
import { MetricsService } from './metrics.service.js';

@ApiTags('Service')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Prometheus metrics',
    description: 'Text exposition format. Needs `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set; open otherwise.',
  })
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, description: 'The metrics.' })
  @ApiErrors()
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() reply: FastifyReply): Promise<void> {
    const token = this.config.metricsToken;
    if (token && !sameSecret(authorization, `Bearer ${token}`)) {
      throw new DomainError('unauthenticated', 'The metrics need the METRICS_TOKEN bearer token.', { code: 'invalid_metrics_token' });
    }
    await reply.header('content-type', this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}

function sameSecret(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
