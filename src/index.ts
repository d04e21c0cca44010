/** Public API of worldloop. */
export * from './errors.js';
export { addon, projectRoot } from './native.js';
export * from './model.js';
export type * from './source.js';
