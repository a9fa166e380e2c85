import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { GuestAllowed } from '../../common/http/route-access.js';
import { ModelCatalog, type ModelListing } from '../../llm/model-catalog.js';

const modelView = z
  .object({
    id: z.string(),
    object: z.literal('model'),
    created: z.number().int(),
    owned_by: z.string(),
    description: z.string().optional(),
    kind: z
      .enum(['model', 'persona', 'embedding', 'image'])
      .describe('Colloquy: a chat model, a persona usable as one, an embedding model (/v1/embeddings) or an image model (/v1/images/generations).'),
    default: z.literal(true).optional().describe('Colloquy: the model requests get when they name none.'),
    alias_for: z
      .string()
      .optional()
      .describe(
        'Colloquy: this entry is an alias (model_aliases) for the model id given here; requests on it answer, and are metered, as that model.',
      ),
  })
  .meta({ id: 'Model' });
const modelList = z.object({ object: z.literal('list'), data: z.array(modelView) }).meta({ id: 'ModelList' });

@ApiTags('OpenAI-compatible')
@ApiBearerAuth()
@GuestAllowed()
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly catalog: ModelCatalog) {}

  @Get()
  @ApiOperation({
    summary: 'List models',
    description:
      'Catalog models whose provider is configured, the personas, the built-in colloquy/echo, colloquy/embed and colloquy/image, ' +
      'and the aliases of `model_aliases` (each with `alias_for`, listed when what it names is usable). ' +
      'With guest access on (GUEST_ACCESS), also served without a key, as the guest user, limited per client IP.',
  })
  @ApiOk(modelList)
  @ApiErrors()
  list(): { object: 'list'; data: ModelListing[] } {
    return { object: 'list', data: this.catalog.list() };
  }

  // Model ids contain slashes (luminary/socrates, openrouter/vendor/model): match the rest of the path.
  @Get('*')
  @ApiOperation({
    summary: 'Get a model',
    description: 'With guest access on (GUEST_ACCESS), also served without a key, as the guest user, limited per client IP.',
  })
  @ApiParam({ name: 'id', description: 'A model id or alias, slashes included (URL-encoded or not).' })
  @ApiOk(modelView)
  @ApiErrors(404)
  get(@Param('*') id: string | string[]): ModelListing {
    return this.catalog.get(Array.isArray(id) ? id.join('/') : id);
  }
}
