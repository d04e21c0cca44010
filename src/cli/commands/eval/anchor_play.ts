/**
 * `worldloop eval anchor-play`: revisit anchoring in free play — what it does to a model world
 * outside scripted loops (the help text says what is measured).
 */
import { writeFileSync } from 'node:fs';
import { Explorer, World } from '../../../world.js';
import { loadModel } from '../../../model.js';
import { modelSourceId } from '../../../record/source_identity.js';
import { machineName } from '../../../profiler/machine.js';
import { contactSheet, type Tile } from '../../../image/contact_sheet.js';
import { encodePng } from '../../../image/png.js';
import { mean, modelFrames, psnr, round2, sharpness, truthFrames, type Act, type Mode } from '../../../eval/frames.js';
import type { Command } from '../../command.js';
import { parseArgs, type ParsedArgs } from '../../args.js';
import { EVAL_BUDGET_FLAG, EVAL_BUDGET_HELP, EVAL_MODEL_FLAGS, EVAL_MODEL_HELP, evalBudget, evalModelPath, evalThreads, noPositionals, outFile } from '../../eval_flags.js';

const NAME = 'eval anchor-play';

const help = `usage: worldloop eval anchor-play [--model PATH] [--seeds 4] [--frames 600] [--threads N] [--sheet F.png]
                                [--eval-budget N]

Revisit anchoring in free play: what it does to a model world outside scripted loops. On
held-out seeds (2^40 + i) the truth world's exploration policy plays N frames (light and spawn
events included, as in training data), and the model plays the same actions in the world play
builds: the bare model ('plain'), its memory slots fed with no anchoring ('memory', memory models
only) and everything play does ('anchor').

Reported per mode (one JSON line):
- PSNR against truth, mean over frames 1-32, 33-128 and 129-N (drift);
- the sharpness ratio over the last window, and over the last tenth of the run (the training
  eval's collapse check calls a run whose last tenth is below 0.15 a featureless end);
- the share of frames anchored;
- pops: the mean absolute change from the previous frame, over truth's change at the same
  frames, separately for anchored and other frames (1 = moves as much as truth does; a
  re-grounded frame that jumps scores high).

${EVAL_MODEL_HELP}
  --seeds N           held-out seeds (default 4)
  --frames N          frames per seed, at least 130 (default 600)
  --sheet F.png       also write the first seed's truth and each mode at six frames across the
                      run (whether the world still shows a place or has faded to haze)
${EVAL_BUDGET_HELP}`;

function options(a: ParsedArgs) {
  return {
    model: evalModelPath(a),
    seeds: (a.flags.seeds as number | undefined) ?? 4,
    frames: (a.flags.frames as number | undefined) ?? 600,
    threads: evalThreads(a),
    sheet: outFile(NAME, a, 'sheet'),
    evalBudget: evalBudget(a),
  };
}

/** The exploration policy's actions for `n` frames of the truth world (events on). */
function explore(seed: number, n: number): Act[] {
  const w = new World(seed);
  const ex = new Explorer(seed * 17 + 3);
  try {
    const acts: Act[] = [];
    for (let i = 0; i < n; i++) {
      const a = ex.next(w).slice();
      w.step(a);
      acts.push(a);
    }
    return acts;
  } finally {
    w.close();
    ex.close();
  }
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}


async function run(o: ReturnType<typeof options>): Promise<void> {
  const model = await loadModel(o.model, { backend: 'cpu', threads: o.threads });
  const sourceId = await modelSourceId(o.model);
  const d = model.dims;
  // A memory model also runs without its slots fed: whether feeding the store's (drifted) views
  // helps or hurts in free play is what decides play's default.
  const modes: Mode[] = d.memorySlots > 0 ? ['plain', 'memory', 'anchor'] : ['plain', 'anchor'];
  const windows: [string, number, number][] = [
    ['1-32', 1, 32],
    ['33-128', 33, 128],
    [`129-${o.frames}`, 129, o.frames],
  ];
  type Acc = { psnr: number[][]; sharp: number[]; sharpEnd: number[]; anchoredShare: number[]; popAnchored: number[]; popOther: number[] };
  const acc: Record<string, Acc> = {};
  for (const mode of modes) acc[mode] = { psnr: windows.map(() => []), sharp: [], sharpEnd: [], anchoredShare: [], popAnchored: [], popOther: [] };
  // Sheet rows: truth, then each mode; columns: six frames across the run (first seed only).
  const sheetAt = [1, 2, 3, 4, 5, 6].map((i) => Math.round((i * o.frames) / 6));
  const tiles: Tile[] = [];
  const tile = (rgb: Uint8Array, label: string): Tile => ({ width: d.frameWidth, height: d.frameHeight, rgb, label });
  try {
    for (let s = 0; s < o.seeds; s++) {
      const seed = 2 ** 40 + s;
      const acts = explore(seed, o.frames);
      const truth = truthFrames(seed, d.context, acts, d.frameWidth, d.frameHeight);
      if (s === 0) for (const t of sheetAt) tiles.push(tile(truth[t]!, `truth ${t}`));
      for (const mode of modes) {
        const m = await modelFrames(model, sourceId, seed, acts, mode, o.evalBudget ? { evalBudget: o.evalBudget } : {});
        if (s === 0) for (const t of sheetAt) tiles.push(tile(m.frames[t]!, `${mode} ${t}`));
        const a = acc[mode]!;
        windows.forEach(([, lo, hi], wi) => {
          for (let t = lo; t <= hi; t++) a.psnr[wi]!.push(psnr(m.frames[t]!, truth[t]!));
        });
        const [, lo, hi] = windows[2]!;
        const sm: number[] = [];
        const st: number[] = [];
        for (let t = lo; t <= hi; t++) {
          sm.push(sharpness(m.frames[t]!, d.frameWidth, d.frameHeight));
          st.push(sharpness(truth[t]!, d.frameWidth, d.frameHeight));
        }
        a.sharp.push(mean(sm) / Math.max(1e-9, mean(st)));
        const tenth = Math.max(1, Math.floor(o.frames / 10));
        a.sharpEnd.push(mean(sm.slice(-tenth)) / Math.max(1e-9, mean(st.slice(-tenth))));
        a.anchoredShare.push(m.anchored / o.frames);
        let ma = 0, ta = 0, mo = 0, to = 0;
        for (let t = 1; t <= o.frames; t++) {
          const dm = meanAbsDiff(m.frames[t]!, m.frames[t - 1]!);
          const dt = meanAbsDiff(truth[t]!, truth[t - 1]!);
          if (m.anchoredAt[t]) {
            ma += dm;
            ta += dt;
          } else {
            mo += dm;
            to += dt;
          }
        }
        if (ta > 0) a.popAnchored.push(ma / ta);
        if (to > 0) a.popOther.push(mo / to);
        console.error(`seed ${seed}, ${mode}: ${m.anchored} of ${o.frames} frames anchored`);
      }
    }
    if (o.sheet) {
      const sheet = contactSheet(tiles, { columns: sheetAt.length });
      writeFileSync(o.sheet, encodePng(sheet.width, sheet.height, sheet.rgb, 3));
      console.error(`anchor_play: wrote ${o.sheet} (seed ${2 ** 40}: truth, then ${modes.join(', ')}; frames ${sheetAt.join(', ')})`);
    }
    const report = (a: Acc) => ({
      psnr_vs_truth_db: Object.fromEntries(windows.map(([name], wi) => [name, round2(mean(a.psnr[wi]!))])),
      sharpness_ratio_last_window: round2(mean(a.sharp)),
      sharpness_ratio_last_tenth: round2(mean(a.sharpEnd)),
      anchored_share: round2(mean(a.anchoredShare)),
      change_vs_truth: { anchored_frames: a.popAnchored.length ? round2(mean(a.popAnchored)) : null, other_frames: round2(mean(a.popOther)) },
    });
    console.log(
      JSON.stringify({
        bench: 'anchor_play',
        machine: machineName(),
        backend: model.info.backend,
        model: o.model,
        seeds: o.seeds,
        frames: o.frames,
        eval_budget: o.evalBudget || null,
        ...Object.fromEntries(modes.map((m) => [m, report(acc[m]!)])),
      }),
    );
  } finally {
    await model.close();
  }
}

const command: Command = {
  name: 'anchor-play',
  summary: 'revisit anchoring in free play: drift vs truth, sharpness, anchored share, pops',
  help,
  async run(argv) {
    const a = parseArgs(NAME, argv, {
      ...EVAL_MODEL_FLAGS,
      seeds: { kind: 'int', min: 1 },
      frames: { kind: 'int', min: 130 },
      sheet: { kind: 'string' },
      ...EVAL_BUDGET_FLAG,
    });
    noPositionals(NAME, a);
    await run(options(a));
    return 0;
  },
};
export default command;
