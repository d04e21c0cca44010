/**
 * The object kinds of the ground-truth world (native/world), in the order the native world numbers
 * them. A leaf module: the FrameSource interface (source.ts) names them, and the world (world.ts)
 * re-exports them, so neither has to import the other for them.
 */
export const OBJECT_KINDS = ['pillar', 'barrel', 'plant', 'lamp', 'crate', 'orb'] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];
