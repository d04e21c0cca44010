/**
 * `worldloop eval pose-tracking`: how well the runtime's pose estimate follows the truth world
 * (the help text says what is measured).
 */
import { Explorer, World, worldActionSpace, worldLayout } from '../../../world.js';
import { PoseTracker } from '../../../memory/pose_tracker.js';
import { angleDiff } from '../../../memory/view_overlap.js';
import { summarize } from '../../../profiler/stats.js';
import { machineName } from '../../../profiler/machine.js';
import type { Command } from '../../command.js';
import { parseArgs } from '../../args.js';
import { noPositionals } from '../../eval_flags.js';

const NAME = 'eval pose-tracking';

const help = `usage: worldloop eval pose-tracking [--seeds 32] [--frames 1800]

How well the runtime's pose estimate follows the truth world on held-out seeds (2^40 + i, the
training eval's range): the exploration policy drives the truth world, and the same actions go to
two PoseTrackers started at the true start pose — plain dead reckoning, and dead reckoning that
collides with the seed's wall grid. Prints one JSON line per tracker with the position error
(cells) at each checkpoint (frames 50, 200, 600, 1800) over the seeds, the yaw error, and the
fraction of steps where a wall stopped the player. Needs no model.

  --seeds N           held-out seeds (default 32)
  --frames N          frames per seed (default 1800)`;

function run(seeds: number, frames: number): void {
  const checkpoints = [50, 200, 600, 1800].filter((c) => c <= frames);
  const d = worldLayout().defaults;
  const speeds = { moveSpeed: d.moveSpeed, strafeSpeed: d.strafeSpeed, turnSpeedDeg: d.turnSpeedDeg };
  const space = worldActionSpace();
  const errs: Record<string, Record<number, number[]>> = { dead_reckoning: {}, with_walls: {} };
  const yawErr: Record<string, number[]> = { dead_reckoning: [], with_walls: [] };
  let blocked = 0;
  let moves = 0;
  for (const k of Object.keys(errs)) for (const c of checkpoints) errs[k]![c] = [];
  for (let i = 0; i < seeds; i++) {
    const seed = 2 ** 40 + i;
    const w = new World(seed);
    const ex = new Explorer(seed);
    const start = w.pose();
    const trackers = {
      dead_reckoning: new PoseTracker(space, { speeds, start }),
      with_walls: new PoseTracker(space, { speeds, start, walls: w.map() }),
    };
    for (let f = 1; f <= frames; f++) {
      const a = ex.next(w);
      const before = w.pose();
      w.step(a);
      const p = w.pose();
      const wanted = Math.abs(a[0]!) + Math.abs(a[1]!) > 0;
      if (wanted) {
        moves++;
        const exp = Math.hypot(a[0]! * d.moveSpeed, a[1]! * d.strafeSpeed);
        if (Math.hypot(p.x - before.x, p.y - before.y) < exp - 1e-4) blocked++;
      }
      for (const [k, t] of Object.entries(trackers)) {
        t.update(a);
        if (checkpoints.includes(f)) {
          const e = t.pose();
          errs[k]![f]!.push(Math.hypot(e.x - p.x, e.y - p.y));
          if (f === frames) yawErr[k]!.push(Math.abs(angleDiff(e.yaw, p.yaw)));
        }
      }
    }
    w.close();
    ex.close();
  }
  for (const k of Object.keys(errs)) {
    const at: Record<string, unknown> = {};
    for (const c of checkpoints) {
      const s = summarize(errs[k]![c]!);
      const r = (v: number) => Math.round(v * 1000) / 1000;
      at[`frame_${c}`] = { median_cells: r(s.median), p95_cells: r(s.p95), max_cells: r(Math.max(...errs[k]![c]!)) };
    }
    console.log(
      JSON.stringify({
        eval: 'pose_tracking',
        tracker: k,
        machine: machineName(),
        seeds,
        frames,
        seed_base: '2^40',
        blocked_step_fraction: Math.round((blocked / Math.max(1, moves)) * 1e4) / 1e4,
        max_yaw_error_deg: Math.round(((Math.max(...yawErr[k]!) * 180) / Math.PI) * 1e4) / 1e4,
        ...at,
      }),
    );
  }
}

const command: Command = {
  name: 'pose-tracking',
  summary: 'the pose estimate (dead reckoning, with and without walls) against the truth world',
  help,
  async run(argv) {
    const a = parseArgs(NAME, argv, { seeds: { kind: 'int', min: 1 }, frames: { kind: 'int', min: 1 } });
    noPositionals(NAME, a);
    run((a.flags.seeds as number | undefined) ?? 32, (a.flags.frames as number | undefined) ?? 1800);
    return 0;
  },
};
export default command;
