/**
 * hookline's programmatic API (`import { createHookline } from 'hookline'`): embed the receiver,
 * the recipes and the worker in an existing application (PRODUCT §13).
 */
export { createHookline, type CreateHooklineOptions } from './embed.ts';
export type { HooklineCore as Hookline, ConfigReload } from './hookline.ts';
export type { Middleware } from './receive/express.ts';
export { BodyAlreadyReadError } from './receive/express.ts';
export type { Config, ConfigInput } from './config/schema.ts';
export type { Clock } from './util/clock.ts';
export { ConfigError } from './errors.ts';
