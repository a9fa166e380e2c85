import { Inject } from '@nestjs/common';

/** DI token of the application's pino logger (see createLogger). */
export const LOGGER = Symbol('LOGGER');
export const InjectLogger = (): ParameterDecorator => Inject(LOGGER);
