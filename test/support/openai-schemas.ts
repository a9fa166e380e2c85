import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * OpenAI's own JSON Schemas (test/fixtures/openai-schemas.json, extracted from
 * openai/openai-openapi) compiled with ajv, so compatibility is checked rather than assumed.
 */
export type OpenAISchemaName =
  | 'CreateChatCompletionResponse'
  | 'CreateChatCompletionStreamResponse'
  | 'ListModelsResponse'
  | 'Model'
  | 'ErrorResponse'
  | 'OpenAIFile'
  | 'DeleteFileResponse'
  | 'CreateEmbeddingResponse';

let ajv: Ajv2020 | null = null;
const validators = new Map<OpenAISchemaName, ValidateFunction>();

function compiler(): Ajv2020 {
  if (ajv) return ajv;
  const doc = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/openai-schemas.json'), 'utf8')) as {
    components: Record<string, object>;
  };
  ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addFormat('unixtime', true);
  ajv.addSchema({ $id: 'openai', components: doc.components });
  return ajv;
}

/** Throws with ajv's explanation when `value` does not match OpenAI's schema `name`. */
export function assertOpenAI(name: OpenAISchemaName, value: unknown): void {
  let validate = validators.get(name);
  if (!validate) {
    validate = compiler().compile({ $ref: `openai#/components/${name}` });
    validators.set(name, validate);
  }
  if (!validate(value)) {
    const why = compiler().errorsText(validate.errors, { separator: '\n' });
    throw new Error(`not a valid OpenAI ${name}:\n${why}\n${JSON.stringify(value, null, 2).slice(0, 2000)}`);
  }
}
