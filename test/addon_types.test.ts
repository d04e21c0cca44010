// src/addon_types.ts declares the addon's surface; this checks the declaration against the built
// binary, so a method added, renamed or removed in native/addon/ without the declaration fails here
// (the declaration's own `satisfies` clauses tie the name lists to the interfaces at compile time).
import { describe, expect, it } from 'vitest';
import { ADDON_EXPORTS, NATIVE_METHODS, WINDOW_TESTING_FUNCTIONS } from '../src/addon_types.js';
import { addon } from '../src/native.js';

const methodsOf = (ctor: unknown): string[] =>
  Object.getOwnPropertyNames((ctor as { prototype: object }).prototype)
    .filter((n) => n !== 'constructor')
    .sort();

describe('addon surface', () => {
  const a = addon();

  it('exports exactly the declared names', () => {
    const declared = ADDON_EXPORTS.filter((n) => a.hasSdl || (n !== 'Window' && n !== 'windowTesting'));
    expect(Object.keys(a).sort()).toEqual([...declared].sort());
    expect(typeof a.version).toBe('string');
    expect(typeof a.hasSdl).toBe('boolean');
    expect(typeof a.hasCuda).toBe('boolean');
    expect(typeof a.loadModel).toBe('function');
    expect(typeof a.worldActionLayout).toBe('function');
  });

  it('each class has exactly the declared methods', () => {
    expect(methodsOf(a.NativeModel)).toEqual([...NATIVE_METHODS.NativeModel].sort());
    expect(methodsOf(a.World)).toEqual([...NATIVE_METHODS.World].sort());
    expect(methodsOf(a.Explorer)).toEqual([...NATIVE_METHODS.Explorer].sort());
    expect(methodsOf(a.PointCache)).toEqual([...NATIVE_METHODS.PointCache].sort());
    if (a.Window) expect(methodsOf(a.Window)).toEqual([...NATIVE_METHODS.Window].sort());
  });

  it('windowTesting has exactly the declared functions', () => {
    if (!a.windowTesting) return;
    expect(Object.keys(a.windowTesting).sort()).toEqual([...WINDOW_TESTING_FUNCTIONS].sort());
  });

  it('a world has the declared data members', () => {
    const w = new a.World(1, {});
    try {
      expect(typeof w.width).toBe('number');
      expect(typeof w.height).toBe('number');
      expect(w.frame()).toBeInstanceOf(ArrayBuffer);
      expect(w.pose()).toBeInstanceOf(Float32Array);
      expect(typeof w.info()).toBe('string');
    } finally {
      w.close();
    }
  });
});
