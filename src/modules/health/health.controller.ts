import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiShuttingDown } from '../../common/http/api-docs.js';
import { Public } from '../../common/http/route-access.js';
import { HealthService } from './health.service.js';

@ApiTags('Health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness probe', description: 'The process is up. Checks no dependency; always fast.' })
  @ApiResponse({ status: 200, description: '`{"status":"ok"}`' })
  @ApiShuttingDown()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness probe',
    description:
      'Ready once migrations are applied and while the database and the blob store answer. ' +
      '503 (with the error envelope and the same per-dependency report) otherwise.',
  })
  @ApiResponse({ status: 200, description: 'Ready, with a per-dependency report.' })
  @ApiResponse({ status: 503, description: 'Not ready (`not_ready`, or `shutting_down` once shutdown began).' })
  async ready(): Promise<object> {
    return this.health.ready();
  }

  @Get()
  @ApiOperation({ summary: 'Service health', description: 'Status, version, uptime and each dependency with its latency.' })
  @ApiResponse({
    status: 200,
    description:
      "`status` is `ok` or `degraded` (a dependency is down; an MCP server that is down degrades, never unreadies). `dependencies.mcp_servers` has each configured MCP server's state.",
  })
  @ApiShuttingDown()
  async status(): Promise<object> {
    const report = await this.health.readiness();
    const degraded = !report.ready || report.degraded || Object.values(report.checks).some((c) => c.status === 'down');
    return {
      status: degraded ? 'degraded' : 'ok',
      version: this.health.version,
      uptime_seconds: this.health.uptimeSeconds,
      dependencies: report.checks,
    };
  }
}
