/**
 * What `worldloop serve` tells the page at /world.json (src/serve/web_server.ts writes it): the
 * model file's identity for recordings, the ground-truth world version the opening frames are
 * rendered with, and the routes of the model and the opening frames.
 */
import type { LightPreset } from '../../lighting.js';
import type { MotionSpeeds } from '../../memory/pose_tracker.js';

export interface WorldInfo {
  /** The model file's name as the page shows it and names it in errors. */
  modelName: string;
  /** Its size in bytes (for the download progress when the response has no length). */
  modelBytes: number;
  /** "sha256:<hex>" of the model file: the recording's sourceId. */
  sourceId: string;
  /** WL_WORLD_VERSION of the server's engine. */
  worldVersion: number;
  /** The seed the page opens unless ?seed= says otherwise. */
  seed: number;
  /** The truth world's light presets (the light event cycles them; the light keys start from
   * them): what a model world tracks its light with. */
  lightPresets: LightPreset[];
  /** The truth world's motion per tick: where a placed object stands in each context frame is
   * worked back from the context actions with it (contextObjectViews). */
  motionSpeeds: MotionSpeeds;
}

/** The routes the server answers (GET / HEAD; POST at /place only). */
export const ROUTES = {
  page: '/',
  script: '/page.js',
  info: '/world.json',
  model: '/model.safetensors',
  /** ?seed=S&k=K&width=W&height=H: K RGB8 frames of the truth world standing still. */
  opening: '/opening',
  /** POST: paints a placed object into the frames sent (src/web/page/place_request.ts). */
  place: '/place',
} as const;

/** Bounds of /opening's parameters (a model's context and frame size are far smaller). */
export const OPENING_LIMITS = { maxContext: 64, maxSide: 1024 } as const;
