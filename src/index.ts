/** Public API of worldloop. */
export * from './errors.js';
export { addon, projectRoot } from './native.js';
