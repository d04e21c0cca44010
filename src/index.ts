/** Public API of worldloop. */
export * from './errors.js';
export { addon, projectRoot } from './native.js';
export * from './model.js';
export * from './model_memory.js';
export * from './model_world.js';
export * from './world.js';
export type * from './source.js';
