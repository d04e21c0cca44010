/**
 * End-to-end frame time in a window: the ground-truth world driven by random actions through the
 * real game loop, presented to a 512×512 window (under xvfb on servers). Reports, as JSON lines:
 *   frame_window_paced    frame interval at --fps (pacing quality: p99 vs median), with the
 *                         present stage, dropped frames and input-to-frame latency
 *   frame_window_unpaced  the whole per-frame cost (input + step + present) as fast as possible
 * Usage: xvfb-run -a node dist/bench/frame.js [frames=300] [fps=30]
 */
import { hasDisplay, Window } from '../src/window.js';
import { TruthWorld } from '../src/world.js';
import { GameLoop } from '../src/loop/game_loop.js';
import { ScriptInput } from '../src/input/script_input.js';
import { randomSteps } from '../src/loop/session.js';
import { WindowOutput } from '../src/loop/window_output.js';
import { FrameProfiler } from '../src/profiler/frame_profiler.js';
import { machineName } from '../src/profiler/machine.js';
import { parseScriptArgs } from '../src/cli/args.js';

const args = parseScriptArgs(
  'frame',
  'Usage: xvfb-run -a node dist/bench/frame.js [frames=300] [fps=30]\n' +
    'Frame interval in a window through the real game loop, paced and unpaced (JSON lines).',
  {},
  { maxPositionals: 2 },
);
const frames = args.positionalNumber(0, 'frames', 300, { kind: 'int', min: 1 });
const fps = args.positionalNumber(1, 'fps', 30, { kind: 'int', min: 1 });
if (!hasDisplay()) {
  console.error('frame bench needs a display: xvfb-run -a node dist/bench/frame.js');
  process.exit(2);
}

for (const realtime of [true, false]) {
  for (const hud of [false, true]) {
    const world = new TruthWorld({ seed: 1 });
    const win = Window.open({ width: 512, height: 512, vsync: false, title: 'frame bench' });
    const profiler = new FrameProfiler();
    const out = new WindowOutput(win, profiler, () => ({ label: world.label, paused: false }));
    out.hudVisible = hud;
    const loop = new GameLoop({ source: world, input: new ScriptInput(randomSteps(world.actionSpace, 7)), output: out, profiler, realtime, fps, maxFrames: frames, seed: 1 });
    await loop.run();
    const r = profiler.report();
    const info = win.info();
    win.close();
    world.close();
    const common = { renderer: info.renderer, hud, window: '512x512', frame: `${world.width}x${world.height}`, present_median_ms: Math.round(r.stages.present!.median * 1000) / 1000, present_p99_ms: Math.round(r.stages.present!.p99 * 1000) / 1000, step_median_ms: Math.round(r.stages.step!.median * 1000) / 1000 };
    if (realtime) {
      console.log(JSON.stringify({
        bench: 'frame_window_paced', machine: machineName(), backend: 'truth', model: 'truth', median_ms: round(r.frame.median), p95_ms: round(r.frame.p95), p99_ms: round(r.frame.p99),
        fps_target: fps, fps_achieved: round(r.fps), p99_over_median: round(r.frame.p99 / r.frame.median), dropped: r.droppedFrames,
        latency_frames_median: r.latencyFrames.median, latency_frames_max: r.latencyFrames.max, ...common,
      }));
    } else {
      const per = r.stages.step!.median + r.stages.present!.median + (r.stages.input?.median ?? 0);
      console.log(JSON.stringify({
        bench: 'frame_window_unpaced', machine: machineName(), backend: 'truth', model: 'truth', median_ms: round(r.frame.median), p95_ms: round(r.frame.p95), p99_ms: round(r.frame.p99),
        stage_sum_median_ms: round(per), ...common,
      }));
    }
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
