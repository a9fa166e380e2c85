import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AppConfig } from '../../config/app-config.js';
import { ApiErrors, ApiShuttingDown } from '../../common/http/api-docs.js';
import { AdminOnly, Public } from '../../common/http/route-access.js';

@ApiTags('Service')
@Controller()
export class SystemController {
  constructor(private readonly config: AppConfig) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Service name, version and links' })
  @ApiResponse({ status: 200, description: 'Index.' })
  @ApiShuttingDown()
  index(): object {
    return {
      name: 'colloquy',
      version: this.config.version,
      description: 'OpenAI-compatible multimodal chat backend',
      links: { docs: '/docs', openapi: '/docs-json', health: '/health', models: '/v1/models' },
    };
  }

  @Get('config')
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'The effective configuration',
    description:
      'Every secret is redacted: keys, tokens, passwords, provider headers, and in every URL its user name, password and query values. Admin only.',
  })
  @ApiResponse({ status: 200, description: 'The configuration after environment overrides.' })
  @ApiErrors(403)
  effective(): object {
    return { file: this.config.file, ...this.config.redacted() };
  }
}
