// The model manifest (the JSON in __metadata__.worldloop) with the validation of the engine's
// native/core/model/manifest.cc: field types, bounds on every size (so a hostile file cannot make
// the page allocate absurd memory) and consistency between sizes. Errors name the field path,
// e.g. "model.safetensors: manifest.latent.channels: expected a positive integer <= 256, got 0".

import { describeJson, Field, JsonError, parseStrictJson } from './strict_json.js';
import { ModelFileError } from './model_file_error.js';

export const MANIFEST_FORMAT_VERSION = 1;
export const MANIFEST_METADATA_KEY = 'worldloop';
export const MANIFEST_FORMAT_NAME = 'worldloop-model';

/** Inclusive bounds, the engine's manifest_limits. */
export const MANIFEST_LIMITS = {
  maxFrameSide: 2048,
  maxLatentChannels: 256,
  maxChannels: 4096,
  maxLevels: 8,
  maxBlocks: 16,
  maxGroups: 4096,
  maxHeads: 256,
  maxCondDim: 4096,
  maxFourierDim: 4096,
  maxContext: 32,
  maxActionDim: 64,
  maxSteps: 8,
  maxMemorySlots: 16,
  maxMemoryPoseDim: 64,
  maxArenaBytes: 4 * 2 ** 30,
} as const;
const L = MANIFEST_LIMITS;

/** Largest magnitude accepted for free-form floats (action ranges, scales). */
const MAX_ABS_FLOAT = 1e6;

export type ActionKind = 'axis' | 'event';

export interface WebManifest {
  formatVersion: number;
  name: string;
  frame: { height: number; width: number };
  latent: { channels: number; height: number; width: number; scale: number };
  autoencoder: { channels: number[]; blocks: number; groups: number };
  denoiser: {
    channels: number[];
    blocks: number;
    attentionLevels: number[];
    heads: number;
    groups: number;
    condDim: number;
    fourierDim: number;
    context: number;
    /** 0 = no memory views. */
    memorySlots: number;
    memoryPoseDim: number;
    /** The network predicts the change from the newest context latent (copy-then-correct). */
    predictsResidual: boolean;
  };
  actions: { names: string[]; min: number[]; max: number[]; kinds: ActionKind[] };
  objectKinds: string[];
  edm: { sigmaData: number; sigmaMin: number; sigmaMax: number; rho: number };
  sampler: { steps: number; contextNoiseSigma: number };
  /** The manifest text as found in the file. */
  sourceJson: string;
}

function channelList(f: Field): number[] {
  const n = f.size(1, L.maxLevels);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(f.index(i).positiveInt(L.maxChannels));
  return out;
}

function checkGroupsDivide(groupsField: Field, groups: number, channels: number[], channelsName: string): void {
  channels.forEach((c, i) => {
    if (c % groups !== 0) groupsField.fail(`${groups} does not divide ${channelsName}[${i}] = ${c}`);
  });
}

function uniqueNames(list: Field, max: number, what: string): string[] {
  const n = list.size(1, max);
  const out: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const f = list.index(i);
    const s = f.string();
    const bytes = new TextEncoder().encode(s).length;
    if (bytes === 0 || bytes > 64) f.fail('expected a name of 1..64 bytes');
    if (seen.has(s)) f.fail(`duplicate ${what} ${describeJson(s)}`);
    seen.add(s);
    out.push(s);
  }
  return out;
}

function parseFields(root: Field, sourceJson: string): WebManifest {
  root.expectObject();
  const format = root.at('format');
  if (format.string() !== MANIFEST_FORMAT_NAME) {
    format.fail(`expected "${MANIFEST_FORMAT_NAME}", got ${describeJson(format.value)}`);
  }
  const version = root.at('format_version');
  const v = version.integer(1, 2 ** 31 - 1);
  if (v > MANIFEST_FORMAT_VERSION) {
    version.fail(`format version ${v} is newer than this build reads (${MANIFEST_FORMAT_VERSION}); upgrade worldloop to load this model`);
  }
  const nameF = root.at('name');
  const name = nameF.string();
  const nameBytes = new TextEncoder().encode(name).length;
  if (nameBytes === 0 || nameBytes > 256) nameF.fail('expected a name of 1..256 bytes');

  const fr = root.at('frame');
  const frame = { height: fr.at('height').positiveInt(L.maxFrameSide), width: fr.at('width').positiveInt(L.maxFrameSide) };

  const lt = root.at('latent');
  const latent = {
    channels: lt.at('channels').positiveInt(L.maxLatentChannels),
    height: lt.at('height').positiveInt(L.maxFrameSide),
    width: lt.at('width').positiveInt(L.maxFrameSide),
    scale: lt.at('scale').positiveNumber(MAX_ABS_FLOAT),
  };

  const ae = root.at('autoencoder');
  const aeChannelsF = ae.at('channels');
  const aeChannels = channelList(aeChannelsF);
  const aeBlocks = ae.at('blocks').positiveInt(L.maxBlocks);
  const aeGroupsF = ae.at('groups');
  const aeGroups = aeGroupsF.positiveInt(L.maxGroups);
  checkGroupsDivide(aeGroupsF, aeGroups, aeChannels, 'autoencoder.channels');
  // Each extra level halves the resolution: frame = latent * 2^(levels - 1), on both axes.
  const shift = aeChannels.length - 1;
  const wantH = latent.height * 2 ** shift;
  const wantW = latent.width * 2 ** shift;
  if (wantH !== frame.height || wantW !== frame.width) {
    aeChannelsF.fail(`${aeChannels.length} levels map latent ${latent.height}x${latent.width} to frame ${wantH}x${wantW} ` +
      `(latent * 2^${shift}), but frame is ${frame.height}x${frame.width}`);
  }

  const d = root.at('denoiser');
  const dChannelsF = d.at('channels');
  const dChannels = channelList(dChannelsF);
  const levels = dChannels.length;
  const div = 2 ** (levels - 1);
  if (latent.height % div !== 0 || latent.width % div !== 0) {
    dChannelsF.fail(`${levels} levels halve the latent ${levels - 1} times, so latent height and width must be ` +
      `divisible by ${div}, got ${latent.height}x${latent.width}`);
  }
  const blocks = d.at('blocks').positiveInt(L.maxBlocks);
  const attnF = d.at('attention_levels');
  const nAttn = attnF.size(0, levels);
  const seen = new Set<number>();
  for (let i = 0; i < nAttn; i++) {
    const a = attnF.index(i);
    const level = a.integer(0, levels - 1);
    if (seen.has(level)) a.fail(`level ${level} listed twice`);
    seen.add(level);
  }
  const attentionLevels = [...seen].sort((x, y) => x - y);
  const headsF = d.at('heads');
  const heads = headsF.positiveInt(L.maxHeads);
  for (const level of attentionLevels) {
    if ((dChannels[level] as number) % heads !== 0) {
      headsF.fail(`${heads} heads do not divide denoiser.channels[${level}] = ${dChannels[level]} (an attention level)`);
    }
  }
  const dGroupsF = d.at('groups');
  const dGroups = dGroupsF.positiveInt(L.maxGroups);
  checkGroupsDivide(dGroupsF, dGroups, dChannels, 'denoiser.channels');
  const condDim = d.at('cond_dim').positiveInt(L.maxCondDim);
  const fourierF = d.at('fourier_dim');
  const fourierDim = fourierF.positiveInt(L.maxFourierDim);
  if (fourierDim % 2 !== 0) fourierF.fail(`expected an even number (cos/sin pairs), got ${fourierDim}`);
  const context = d.at('context').positiveInt(L.maxContext);
  let memorySlots = 0;
  let memoryPoseDim = 0;
  const mem = d.get('memory');
  if (mem) {
    mem.expectObject();
    memorySlots = mem.at('slots').integer(0, L.maxMemorySlots);
    if (memorySlots > 0) memoryPoseDim = mem.at('pose_dim').positiveInt(L.maxMemoryPoseDim);
  }
  let predictsResidual = false;
  const predicts = d.get('predicts');
  if (predicts) {
    const p = predicts.string();
    if (p === 'residual') predictsResidual = true;
    else if (p !== 'latent') predicts.fail(`expected "latent" or "residual", got "${p.slice(0, 32)}"`);
  }

  const ac = root.at('actions');
  const names = uniqueNames(ac.at('names'), L.maxActionDim, 'action name');
  const n = names.length;
  const minsF = ac.at('min');
  const maxsF = ac.at('max');
  const kindsF = ac.at('kinds');
  minsF.size(n, n);
  maxsF.size(n, n);
  kindsF.size(n, n);
  const min: number[] = [];
  const max: number[] = [];
  const kinds: ActionKind[] = [];
  for (let i = 0; i < n; i++) {
    const lo = minsF.index(i).number(-MAX_ABS_FLOAT, MAX_ABS_FLOAT);
    const hi = maxsF.index(i).number(-MAX_ABS_FLOAT, MAX_ABS_FLOAT);
    if (!(lo < hi)) {
      maxsF.index(i).fail(`max must be greater than min (${describeJson(minsF.index(i).value)}) for action "${names[i]}"`);
    }
    min.push(Math.fround(lo));
    max.push(Math.fround(hi));
    const k = kindsF.index(i);
    const ks = k.string();
    if (ks === 'axis' || ks === 'event') kinds.push(ks);
    else k.fail(`expected "axis" or "event", got ${describeJson(k.value)}`);
  }

  let objectKinds: string[] = [];
  const objects = root.get('objects');
  if (objects) {
    objects.expectObject();
    objectKinds = uniqueNames(objects.at('kinds'), 64, 'object kind');
  }

  const ed = root.at('edm');
  const sigmaData = ed.at('sigma_data').positiveNumber(1e3);
  const sigmaMin = ed.at('sigma_min').positiveNumber(1e3);
  const smaxF = ed.at('sigma_max');
  const sigmaMax = smaxF.positiveNumber(1e3);
  if (!(sigmaMin < sigmaMax)) {
    smaxF.fail(`sigma_max must be greater than sigma_min (${describeJson(ed.at('sigma_min').value)}), got ${describeJson(smaxF.value)}`);
  }
  const rho = ed.at('rho').positiveNumber(100);

  const sa = root.at('sampler');
  const steps = sa.at('steps').integer(1, L.maxSteps);
  const contextNoiseSigma = sa.at('context_noise_sigma').number(0, 1e3);

  const training = root.get('training');
  if (training) training.expectObject();

  return {
    formatVersion: v,
    name,
    frame,
    latent,
    autoencoder: { channels: aeChannels, blocks: aeBlocks, groups: aeGroups },
    denoiser: {
      channels: dChannels, blocks, attentionLevels, heads, groups: dGroups, condDim, fourierDim, context,
      memorySlots, memoryPoseDim, predictsResidual,
    },
    actions: { names, min, max, kinds },
    objectKinds,
    edm: { sigmaData, sigmaMin, sigmaMax, rho },
    sampler: { steps, contextNoiseSigma },
    sourceJson,
  };
}

/** Parses and validates manifest JSON; `where` prefixes the field paths in errors. */
export function parseManifest(json: string | Uint8Array, where = 'manifest'): WebManifest {
  const bytes = typeof json === 'string' ? new TextEncoder().encode(json) : json;
  const text = typeof json === 'string' ? json : new TextDecoder().decode(json);
  try {
    const doc = parseStrictJson(bytes, where, 16 << 20);
    return parseFields(new Field(doc, where), text);
  } catch (err) {
    if (err instanceof JsonError) throw new ModelFileError(err.message);
    throw err;
  }
}

/**
 * Upper bound of activation memory for `maxBatch` worlds, the engine's estimate_arena_bytes: not
 * the planner's exact number, it rejects hostile sizes before anything is allocated.
 */
export function estimateArenaBytes(m: WebManifest, maxBatch = 1): number {
  const d = m.denoiser;
  const C = m.latent.channels;
  const K = d.context;
  const lh = m.latent.height;
  const lw = m.latent.width;
  const M = d.memorySlots;
  let floats = 0;
  let widest = C * (K + 1 + M);
  d.channels.forEach((c, i) => {
    const hw = Math.floor(lh / 2 ** i) * Math.floor(lw / 2 ** i);
    floats += (d.blocks + 1) * c * hw;
    widest = Math.max(widest, 2 * c);
  });
  floats += 4 * widest * lh * lw;
  let attn = 0;
  for (const level of d.attentionLevels) {
    const hw = Math.floor(lh / 2 ** level) * Math.floor(lw / 2 ** level);
    attn = Math.max(attn, hw * hw * d.heads);
  }
  floats += attn;
  floats += C * lh * lw * (K + 4);
  floats += C * lh * lw * 2 * M;
  floats += M * (2 * d.fourierDim + d.memoryPoseDim);
  const H = m.frame.height;
  const W = m.frame.width;
  let aeWidest = 0;
  m.autoencoder.channels.forEach((c, i) => {
    aeWidest = Math.max(aeWidest, c * Math.floor(H / 2 ** i) * Math.floor(W / 2 ** i));
  });
  floats += 8 * aeWidest;
  floats += 3 * H * W;
  // Doubles stay exact far past the cap, so no saturation is needed to compare with it.
  return floats * 4 * Math.max(maxBatch, 1);
}

/** Throws ModelFileError when the manifest's sizes need more than capBytes of activations. */
export function checkArenaBudget(m: WebManifest, maxBatch = 1, capBytes: number = L.maxArenaBytes, fileName = 'model file'): void {
  const need = estimateArenaBytes(m, maxBatch);
  if (need > capBytes) {
    const mib = (b: number) => `${(b / (1024 * 1024)).toFixed(1)} MiB`;
    throw new ModelFileError(`${fileName}: manifest sizes need an estimated ${mib(need)} of activation memory for ` +
      `max_batch ${maxBatch}, more than the cap of ${mib(capBytes)} (frame ${m.frame.height}x${m.frame.width}, ` +
      `latent ${m.latent.channels}x${m.latent.height}x${m.latent.width})`);
  }
}
