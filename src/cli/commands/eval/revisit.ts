/** `worldloop eval revisit`: walk away and come back — does the world look as it was left? */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../../command.js';
import { parseArgs } from '../../args.js';
import { MODEL_FLAGS } from '../../model_flags.js';
import { EVAL_BUDGET_FLAG, EVAL_BUDGET_HELP, evalBudget } from '../../eval_flags.js';
import { InvalidArgumentError, WorldloopError } from '../../../errors.js';
import { loadModel, type BackendName } from '../../../model.js';
import { DEFAULT_MODEL, resolveModelPath } from '../../../play/model_path.js';
import { modelSourceId } from '../../../record/source_identity.js';
import { REVISIT_MODES, runRevisit } from '../../../eval/revisit.js';
import type { Mode } from '../../../eval/frames.js';
import { OBJECT_KINDS, type ObjectKind } from '../../../world.js';
import { contactSheet } from '../../../image/contact_sheet.js';
import { encodePng } from '../../../image/png.js';
import { machineName } from '../../../profiler/machine.js';

const help = `usage: worldloop eval revisit [--model PATH] [--seeds N] [--away N[,N...]] [--modes M[,M...]] [--place KIND] [--out DIR]
                              [--eval-budget N]

The revisit eval (docs/persistence.md): on held-out seeds a scripted loop settles, looks (the first
visit), walks away with the exploration policy and retraces its steps to exactly the same pose.
The model's frame on return is compared with its own first-visit frame (is the place as it was
left?) and with the truth world's frame. Objects are checked on return: one spawned at the first
visit by the spawn event (the model picks the kind), and one of a chosen kind placed there by the
runtime (--place; docs/persistence.md, "Placing an object").
Loops that would touch a wall are replaced (the truth world checks each one).

  --model PATH      model file (default ${DEFAULT_MODEL})
  --seeds N         loops per distance, seeds 2^40+0 .. N-1 (default 4; a seed without a wall-free
                    loop is skipped and said so)
  --away LIST       frames away, comma-separated (default 200; e.g. 200,1800)
  --modes LIST      plain (the model alone), memory (its memory slots fed retrieved views; models
                    with slots), anchor (what play runs: slots plus revisit anchoring)
                    (default plain,memory,anchor)
  --place KIND      the kind placed at the first visit: pillar, barrel, plant, lamp, crate, orb,
                    or none to skip it (default lamp; adds one run per mode and loop)
  --backend B       cpu, cuda or auto (default cpu)
  --threads N       CPU threads (default: all cores)
  --out DIR         also write DIR/revisit.json (the JSON lines) and DIR/revisit_sheet.png (per
                    loop: truth at the first visit and on return, then each mode)
${EVAL_BUDGET_HELP}

Prints one progress line per loop (stderr) and one JSON line per distance (stdout): PSNR of the
return frame vs the first visit and vs truth, the sharpness ratio, turn direction agreement along
the loops (does the picture turn the way truth's does), and spawned and placed object kept, per
mode. On this project's 2-core CPU a loop of 200 frames takes ~50 s in all three modes;
1,800 ~5 min.

example: worldloop eval revisit --seeds 6 --away 200,1800 --out runs/revisit`;

function list(flag: string, v: string): string[] {
  const out = v.split(',').map((x) => x.trim());
  if (out.some((x) => x === '')) throw new InvalidArgumentError(`revisit: --${flag} must be a comma-separated list; got '${v}'`);
  return out;
}

const command: Command = {
  name: 'revisit',
  summary: 'revisit eval: walk away, come back, compare with the first visit',
  help,
  async run(argv) {
    const a = parseArgs('eval revisit', argv, {
      ...MODEL_FLAGS,
      seeds: { kind: 'int', min: 1, max: 1000 },
      away: { kind: 'string' },
      modes: { kind: 'string' },
      place: { kind: 'string' },
      out: { kind: 'string' },
      ...EVAL_BUDGET_FLAG,
    });
    if (a.positionals.length) throw new InvalidArgumentError(`revisit: unexpected argument '${a.positionals[0]}' (see: worldloop eval revisit --help)`);
    const aways = list('away', (a.flags.away as string | undefined) ?? '200').map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 3 || n > 100_000) throw new InvalidArgumentError(`revisit: --away takes frame counts in 3..100000; got '${x}'`);
      return n;
    });
    const modes = list('modes', (a.flags.modes as string | undefined) ?? REVISIT_MODES.join(',')).map((x) => {
      if (!REVISIT_MODES.includes(x as Mode)) throw new InvalidArgumentError(`revisit: unknown mode '${x}'; choose from ${REVISIT_MODES.join(', ')}`);
      return x as Mode;
    });
    const place = (a.flags.place as string | undefined) ?? 'lamp';
    if (place !== 'none' && !(OBJECT_KINDS as readonly string[]).includes(place)) {
      throw new InvalidArgumentError(`revisit: --place takes ${OBJECT_KINDS.join(', ')} or none; got '${place}'`);
    }
    const out = a.flags.out as string | undefined;
    if (out) {
      try {
        mkdirSync(out, { recursive: true });
      } catch (err) {
        throw new WorldloopError('WL_IO', `revisit: cannot create --out '${out}': ${(err as Error).message}`);
      }
    }
    const path = resolveModelPath((a.flags.model as string | undefined) ?? DEFAULT_MODEL);
    const model = await loadModel(path, {
      backend: (a.flags.backend as BackendName | undefined) ?? 'cpu',
      ...(a.flags.threads !== undefined ? { threads: a.flags.threads as number } : {}),
    });
    try {
      const lines: string[] = [];
      const r = await runRevisit(
        model,
        { sourceId: await modelSourceId(path), seeds: (a.flags.seeds as number | undefined) ?? 4, aways, modes, place: place as ObjectKind | 'none', evalBudget: evalBudget(a) },
        (l) => console.error(`revisit: ${l}`),
        (rep) => {
          const line = JSON.stringify({ ...rep, machine: machineName(), model: path });
          lines.push(line);
          console.log(line);
          // Written as each distance finishes, so a long run stopped early keeps what it measured.
          if (out) writeFileSync(join(out, 'revisit.json'), lines.join('\n') + '\n');
        },
      );
      if (out) {
        if (r.tiles.length) {
          const sheet = contactSheet(r.tiles, { columns: r.columns });
          writeFileSync(join(out, 'revisit_sheet.png'), encodePng(sheet.width, sheet.height, sheet.rgb, 3));
        }
        console.error(`revisit: wrote ${join(out, 'revisit.json')}${r.tiles.length ? ` and ${join(out, 'revisit_sheet.png')}` : ''}`);
      }
      if (!r.reports.some((rep) => (rep.seeds as number) > 0)) {
        console.error('revisit: no seed had a wall-free loop; try more --seeds or a shorter --away');
        return 1;
      }
      return 0;
    } finally {
      await model.close();
    }
  },
};
export default command;
