// The page's model-file parser on good and hostile files. Each hostile file must give a
// ModelFileError naming the problem and where, and the native engine must reject the same bytes
// with the same message (the page applies the engine's checks, not a looser set).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model.js';
import { bf16ToF32, f16ToF32, ModelFileError, parseModelFile, SafetensorsFile } from '../../src/web/model_file.js';
import { editManifest, readRaw, writeImage, writeRaw } from './model_file_edit.js';

const ROOT = join(__dirname, '..', '..');
const FIX = join(ROOT, 'native', 'tests', 'fixtures');
const TINY = readFileSync(join(FIX, 'tiny_model.safetensors'));
const DIR = mkdtempSync(join(tmpdir(), 'wl-web-model-file-'));

function webError(bytes: Uint8Array, name: string): string {
  try {
    parseModelFile(bytes, { name });
  } catch (err) {
    expect(err).toBeInstanceOf(ModelFileError);
    return (err as Error).message;
  }
  throw new Error('the page parsed a hostile file');
}

async function nativeError(path: string): Promise<string> {
  const err = await loadModel(path, { threads: 1 }).then(
    async (m) => {
      await m.close();
      return undefined;
    },
    (e: unknown) => e as Error,
  );
  if (!err) throw new Error('the engine loaded a hostile file');
  return err.message;
}

/** A header JSON with one tensor of `dtype` and `data` bytes (not a model: container checks only). */
function oneTensor(entry: Record<string, unknown>, data: Uint8Array): Uint8Array {
  return writeImage(JSON.stringify({ t: entry }), data);
}

const tinyRaw = () => readRaw(TINY);

interface Case {
  what: string;
  bytes: () => Uint8Array;
  message: RegExp;
}

const CASES: Case[] = [
  { what: 'a file shorter than the length field', bytes: () => TINY.subarray(0, 5), message: /file is 5 bytes, shorter than the 8-byte header length field/ },
  {
    what: 'a truncated file (header runs past the end)',
    bytes: () => TINY.subarray(0, 200),
    message: /header length \d+ runs past the end of the file \(200 bytes\)/,
  },
  {
    what: 'a truncated data section',
    bytes: () => TINY.subarray(0, TINY.length - 100),
    message: /tensor ".*": data_offsets \[\d+, \d+\] run past the end of the data section \(\d+ bytes\)/,
  },
  {
    what: 'an absurd header length',
    bytes: () => {
      const b = new Uint8Array(TINY);
      new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
      return b;
    },
    message: /header length 1099511627776 is absurd \(limit 104857600 bytes; not a safetensors file\?\)/,
  },
  {
    what: 'a header that is not JSON',
    bytes: () => writeImage('{"a":{"dtype":"F32",]', new Uint8Array(0)),
    message: /header: byte 20: expected a string key in object, got ']'/,
  },
  {
    what: 'a duplicate key',
    bytes: () => writeImage('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{}}', new Uint8Array(4)),
    message: /header: byte 54: duplicate object key "t"/,
  },
  {
    what: 'invalid UTF-8 in a name',
    bytes: () => {
      const b = writeImage('{"t\u00e9":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4));
      b[8 + 4] = 0xff; // the continuation byte of the two-byte 'é' (header byte 4)
      return b;
    },
    message: /header: byte 4: invalid UTF-8 continuation byte in string, got byte 0xff/,
  },
  {
    what: 'a lone surrogate escape',
    bytes: () => writeImage('{"t\\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)),
    message: /header: byte 3: high surrogate \\u escape not followed by a low surrogate/,
  },
  {
    what: 'more JSON values than the cap',
    bytes: () => writeImage(`{"x":[${'0,'.repeat(1 << 20)}0]}`, new Uint8Array(0)),
    message: /header: byte 2097154: more than 1048576 values in one document/,
  },
  {
    what: 'nesting past the depth limit',
    bytes: () => writeImage(`{"x":${'['.repeat(70)}${']'.repeat(70)}}`, new Uint8Array(0)),
    message: /header: byte 68: nesting deeper than 64 levels/,
  },
  {
    what: 'a number with a leading zero',
    bytes: () => writeImage('{"t":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}', new Uint8Array(4)),
    message: /header: byte 29: numbers must not have leading zeros/,
  },
  {
    what: 'overlapping data_offsets',
    bytes: () => writeImage(JSON.stringify({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    }), new Uint8Array(12)),
    message: /tensor "b": data_offsets \[4, 12\] overlap tensor "a" at \[0, 8\]/,
  },
  {
    what: 'a hole in the data section',
    bytes: () => writeImage(JSON.stringify({
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    }), new Uint8Array(12)),
    message: /tensor "b": data_offsets \[8, 12\] leave bytes \[4, 8\) of the data section unindexed \(a hole\)/,
  },
  {
    what: 'trailing bytes after the last tensor',
    bytes: () => oneTensor({ dtype: 'F32', shape: [1], data_offsets: [0, 4] }, new Uint8Array(10)),
    message: /6 bytes after the last tensor's data \(the data section is 10 bytes; tensors index \[0, 4\)\)/,
  },
  {
    what: 'an integer dtype in a model file',
    bytes: () => oneTensor({ dtype: 'I32', shape: [1], data_offsets: [0, 4] }, new Uint8Array(4)),
    message: /tensor "t": unknown dtype "I32" \(model tensors must be F32, F16 or BF16\)/,
  },
  {
    what: 'an unknown dtype',
    bytes: () => oneTensor({ dtype: 'Q4', shape: [1], data_offsets: [0, 4] }, new Uint8Array(4)),
    message: /tensor "t": unknown dtype "Q4"/,
  },
  {
    what: 'a shape whose product does not match the bytes',
    bytes: () => oneTensor({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] }, new Uint8Array(20)),
    message: /tensor "t": data_offsets \[0, 20\] but shape \[2, 3\] x F32 needs 24 bytes/,
  },
  {
    what: 'a negative dimension',
    bytes: () => oneTensor({ dtype: 'F32', shape: [-1], data_offsets: [0, 4] }, new Uint8Array(4)),
    message: /tensor "t": shape entries must be non-negative integers <= 2\^53, got -1/,
  },
  {
    what: 'a shape that overflows byte counts',
    bytes: () => oneTensor({ dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] }, new Uint8Array(4)),
    message: /tensor "t": shape \[1099511627776, 1099511627776\] overflows 64-bit byte counts/,
  },
  {
    what: 'too many dimensions',
    bytes: () => oneTensor({ dtype: 'F32', shape: [1, 1, 1, 1, 1, 1, 1, 1, 1], data_offsets: [0, 4] }, new Uint8Array(4)),
    message: /tensor "t": shape has 9 dimensions, more than 8/,
  },
  {
    what: 'begin after end',
    bytes: () => oneTensor({ dtype: 'F32', shape: [0], data_offsets: [4, 0] }, new Uint8Array(4)),
    message: /tensor "t": data_offsets \[4, 0\] has begin after end/,
  },
  {
    what: 'a non-string metadata value',
    bytes: () => writeImage('{"__metadata__":{"worldloop":3}}', new Uint8Array(0)),
    message: /__metadata__\["worldloop"\] is a number, expected a string/,
  },
  {
    what: 'no manifest',
    bytes: () => writeRaw({ ...tinyRaw(), metadata: {} }),
    message: /__metadata__ has no "worldloop" manifest \(not a worldloop model file\?\)/,
  },
  {
    what: 'a manifest that is not JSON',
    bytes: () => writeRaw({ ...tinyRaw(), metadata: { worldloop: '{"format":' } }),
    message: /manifest: byte 10: expected a value/,
  },
  {
    what: 'latent.channels 0',
    bytes: () => editManifest(TINY, (m) => { (m.latent as Record<string, unknown>).channels = 0; }),
    message: /manifest\.latent\.channels: expected a positive integer <= 256, got 0/,
  },
  {
    what: 'a missing manifest field',
    bytes: () => editManifest(TINY, (m) => { delete (m.denoiser as Record<string, unknown>).heads; }),
    message: /manifest\.denoiser\.heads: required field is missing/,
  },
  {
    what: 'groups that do not divide the channels',
    bytes: () => editManifest(TINY, (m) => { (m.autoencoder as Record<string, unknown>).groups = 3; }),
    message: /manifest\.autoencoder\.groups: 3 does not divide autoencoder\.channels\[0\] = 8/,
  },
  {
    what: 'a frame the autoencoder levels do not reach',
    bytes: () => editManifest(TINY, (m) => { (m.frame as Record<string, unknown>).width = 64; }),
    message: /manifest\.autoencoder\.channels: 4 levels map latent 4x4 to frame 32x32 \(latent \* 2\^3\), but frame is 32x64/,
  },
  {
    what: 'sigma_max below sigma_min',
    bytes: () => editManifest(TINY, (m) => { (m.edm as Record<string, unknown>).sigma_max = 0.001; }),
    message: /manifest\.edm\.sigma_max: sigma_max must be greater than sigma_min \(0\.002\), got 0\.001/,
  },
  {
    what: 'too many sampler steps',
    bytes: () => editManifest(TINY, (m) => { (m.sampler as Record<string, unknown>).steps = 9; }),
    message: /manifest\.sampler\.steps: expected an integer in \[1, 8\], got 9/,
  },
  {
    what: 'an unknown predicts',
    bytes: () => editManifest(TINY, (m) => { (m.denoiser as Record<string, unknown>).predicts = 'noise'; }),
    message: /manifest\.denoiser\.predicts: expected "latent" or "residual", got "noise"/,
  },
  {
    what: 'action ranges of the wrong length',
    bytes: () => editManifest(TINY, (m) => { (m.actions as Record<string, unknown>).min = [-1, -1]; }),
    message: /manifest\.actions\.min: expected an array of length 3, got length 2/,
  },
  {
    what: 'a duplicate action name',
    bytes: () => editManifest(TINY, (m) => { (m.actions as Record<string, unknown>).names = ['move', 'move', 'turn']; }),
    message: /manifest\.actions\.names\[1\]: duplicate action name "move"/,
  },
  {
    what: 'a newer format version',
    bytes: () => editManifest(TINY, (m) => { m.format_version = 2; }),
    message: /manifest\.format_version: format version 2 is newer than this build reads \(1\)/,
  },
  {
    what: 'an attention level past the last level',
    bytes: () => editManifest(TINY, (m) => { (m.denoiser as Record<string, unknown>).attention_levels = [0, 2]; }),
    message: /manifest\.denoiser\.attention_levels\[1\]: expected an integer in \[0, 1\], got 2/,
  },
  {
    what: 'sizes past the activation-memory cap',
    bytes: () => editManifest(TINY, (m) => {
      m.frame = { height: 2048, width: 2048 };
      m.latent = { channels: 4, height: 2048, width: 2048, scale: 1 };
      m.autoencoder = { channels: [8], blocks: 1, groups: 4 };
    }),
    message: /manifest sizes need an estimated [\d.]+ MiB of activation memory for max_batch 1, more than the cap of 4096\.0 MiB \(frame 2048x2048, latent 4x2048x2048\)/,
  },
];

describe('hostile model files', () => {
  for (const c of CASES) {
    it(`${c.what}: a ModelFileError naming it, the engine's message`, async () => {
      const bytes = c.bytes();
      const path = join(DIR, 'hostile.safetensors');
      writeFileSync(path, bytes);
      const web = webError(bytes, path);
      expect(web).toMatch(c.message);
      expect(web.startsWith(path), web).toBe(true);
      // The page names the file in the activation-memory error too, where the engine does not.
      expect(web.replace(`${path}: manifest sizes`, 'manifest sizes')).toBe(await nativeError(path));
    });
  }

  it('random byte flips in the header give ModelFileError or a valid file, nothing else', () => {
    const headerLen = Number(new DataView(TINY.buffer, TINY.byteOffset).getBigUint64(0, true));
    let s = 2024;
    let rejected = 0;
    for (let i = 0; i < 300; i++) {
      const b = new Uint8Array(TINY);
      for (let k = 0; k < 3; k++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const at = 8 + (s % headerLen);
        b[at] = (s >>> 16) & 0xff;
      }
      try {
        parseModelFile(b);
      } catch (err) {
        expect(err).toBeInstanceOf(ModelFileError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(250);
  });
});

describe('model file parsing', () => {
  it('reads the fixtures: tensors, dtypes, manifest', () => {
    const { file, manifest } = parseModelFile(TINY, { name: 'tiny' });
    expect(file.tensors.length).toBe(224);
    expect(manifest.name).toBe('tiny-golden');
    expect(manifest.latent).toEqual({ channels: 4, height: 4, width: 4, scale: 0.75 });
    expect(manifest.denoiser.attentionLevels).toEqual([0, 1]);
    const def = parseModelFile(readFileSync(join(ROOT, 'models', 'default.safetensors')));
    expect(def.manifest.denoiser.memorySlots).toBe(4);
    expect(def.manifest.actions.kinds).toEqual(['axis', 'axis', 'axis', 'event', 'event']);
  });

  it('converts BF16 and F16 tensors to f32 exactly', () => {
    const { file } = parseModelFile(TINY);
    const name = 'autoencoder.encoder.conv_in.bias';
    const raw = file.rawBytes(name);
    const f = file.toF32(name, [8]);
    for (let i = 0; i < 8; i++) {
      const b = (raw[2 * i] as number) | ((raw[2 * i + 1] as number) << 8);
      const want = new Float32Array(new Uint32Array([b << 16]).buffer)[0];
      expect(f[i]).toBe(want);
    }
    expect(() => file.toF32(name, [4, 2])).toThrow(/tensor "autoencoder\.encoder\.conv_in\.bias" has shape \[8\], the manifest implies \[4, 2\]/);
    expect(() => file.toF32('nope')).toThrow(/missing tensor "nope"/);

    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
  });

  it('reads every dtype when asked (fixtures), F16 data included', () => {
    const f16 = new Uint8Array([0x00, 0x3c, 0x00, 0xc0]); // 1, -2
    const bytes = oneTensor({ dtype: 'F16', shape: [2], data_offsets: [0, 4] }, f16);
    const file = SafetensorsFile.parse(bytes);
    expect(Array.from(file.toF32('t', [2]))).toEqual([1, -2]);
    const u8 = SafetensorsFile.parse(oneTensor({ dtype: 'U8', shape: [3], data_offsets: [0, 3] }, new Uint8Array(3)), { allowed: 'any' });
    expect(() => u8.toF32('t')).toThrow(/tensor "t" is U8, not a float tensor/);
  });

  it('counts non-finite weights', () => {
    const nan = new Uint8Array(new Float32Array([1, NaN, Infinity, -Infinity]).buffer);
    const file = SafetensorsFile.parse(oneTensor({ dtype: 'F32', shape: [4], data_offsets: [0, 16] }, nan));
    expect(file.get('t')).toMatchObject({ nanCount: 1, infCount: 2 });
  });
});
