import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { GuestAllowed } from '../../common/http/route-access.js';
import { ModelCatalog, type ModelListing } from '../../llm/model-catalog.js';
import { LocalModels, type LocalState } from '../../llm/local/local-models.js';

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
    status: z
      .enum(['unloaded', 'loading', 'loaded', 'unavailable'])
      .optional()
      .describe(
        'Colloquy, local models (provider local): loaded on first use, unloaded after LOCAL_IDLE_UNLOAD_MINUTES; unavailable (requests get 503 model_unavailable) with `status_reason`.',
      ),
    status_reason: z.string().optional().describe('Colloquy, local models: why the model is unavailable, or why its last load failed.'),
  })
  .meta({ id: 'Model' });
const modelList = z.object({ object: z.literal('list'), data: z.array(modelView) }).meta({ id: 'ModelList' });

@ApiTags('OpenAI-compatible')
@ApiBearerAuth()
@GuestAllowed()
@Controller('v1/models')
export class ModelsController {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly local: LocalModels,
  ) {}

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
  list(): { object: 'list'; data: Array<ModelListing & { status?: LocalState; status_reason?: string }> } {
    return { object: 'list', data: this.catalog.list().map((m) => this.withStatus(m)) };
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
  get(@Param('*') id: string | string[]): ModelListing & { status?: LocalState; status_reason?: string } {
    return this.withStatus(this.catalog.get(Array.isArray(id) ? id.join('/') : id));
  }

  /** A local model's entry carries its state (and why it cannot answer, when it cannot). */
  private withStatus(model: ModelListing): ModelListing & { status?: LocalState; status_reason?: string } {
    const status = this.local.status(model.alias_for ?? model.id);
    return status ? { ...model, status: status.state, ...(status.reason ? { status_reason: status.reason } : {}) } : model;
  }
}
