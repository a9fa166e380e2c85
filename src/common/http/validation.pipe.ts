import { type ArgumentMetadata, StandardSchemaValidationPipe } from '@nestjs/common';
import { assertStorable } from '../validation/storable-input.js';
import { invalidRequest } from '../validation/validate.js';

/**
 * Validates @Body/@Query/@Param schemas and reports the first problem the way OpenAI does. Every
 * value first passes the storable-input rule (no NUL, no lone surrogate, bounded nesting), so no
 * route can forget it and no schema walks a value nested deep enough to overflow the stack.
 */
class ValidationPipe extends StandardSchemaValidationPipe {
  override async transform<T = unknown>(value: T, metadata: ArgumentMetadata): Promise<T> {
    if (metadata.type !== 'custom') assertStorable(value, typeof metadata.data === 'string' ? metadata.data : null);
    return super.transform(value, metadata);
  }
}

export const validationPipe = new ValidationPipe({ exceptionFactory: invalidRequest });
