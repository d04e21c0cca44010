/** Public API of worldloop. */
export * from './errors.js';
export { addon, projectRoot } from './native.js';
export * from './model.js';
export * from './model_memory.js';
export * from './model_world.js';
export * from './world.js';
export type * from './source.js';
export { Window, hasDisplay } from './window.js';
export { GameLoop } from './loop/game_loop.js';
export { ActionMapper } from './input/action_mapper.js';
export { Recorder } from './record/recorder.js';
export { loadRecording } from './record/replay.js';
