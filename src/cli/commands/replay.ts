/** `worldloop replay FILE`: re-run a recording, verify every frame, optionally export video. */
import type { Command } from '../command.js';
import { EXIT_CODES_HELP } from '../exit_codes.js';
import { parseArgs } from '../args.js';
import { MODEL_FLAGS } from '../model_flags.js';
import { InvalidArgumentError, UnsupportedError } from '../../errors.js';
import { GameLoop, type LoopOutput } from '../../loop/game_loop.js';
import { checkRecordingMatches, loadRecording, RecordingInput, ReplayVerifier } from '../../record/replay.js';
import { sinkFor, type FrameSink } from '../../record/frame_export.js';
import { DEFAULT_MODEL } from '../../play/model_path.js';
import { openWorld } from '../../play/open_world.js';
import type { OpenedWorld } from '../../play/play_world.js';
import type { RecordedRuntime } from '../../record/format.js';
import { worldLayout } from '../../world.js';
import { hasDisplay, Window } from '../../window.js';
import { formatReport } from '../../profiler/frame_profiler.js';
import type { BackendName } from '../../model.js';

const help = `usage: worldloop replay FILE [--model PATH] [--backend B] [--export OUT] [--window] [--fps N]

Replays a recording made with --record: restarts the same world (the recorded seed; for a model,
the model file whose SHA-256 the recording names), feeds back the recorded action of every frame
and checks each produced frame against the recorded CRC. On the backend that recorded it the
replay is bit-exact; another backend may differ in the last bits and is reported as such.
Recordings downloaded from the browser page (worldloop serve; backend webgpu or js) replay on the
engine's backend (--backend, default auto): expect low-bit differences there too.

  --model PATH    model file for recordings made with 'play' (default ${DEFAULT_MODEL})
  --backend B     cpu, cuda or auto (default: the recorded backend; auto for the page's)
  --threads N     CPU threads for the model
  --export OUT    write the frames: OUT.mp4 (H.264 via ffmpeg, 4x nearest upscale) or a
                  directory of PNG frames (frame_000000.png, ..., as render names them)
  --window        watch the replay in a window at the recorded rate
  --fps N         rate for --window and the MP4 (default: the recorded rate)

${EXIT_CODES_HELP.replace('0 success', '0 bit-exact')}
example: worldloop replay run.wlrec --export run.mp4`;

const command: Command = {
  name: 'replay',
  summary: 'replay a recording bit-exactly; export MP4 or PNG frames',
  help,
  async run(argv) {
    const a = parseArgs('replay', argv, {
      ...MODEL_FLAGS,
      export: { kind: 'string' },
      window: { kind: 'boolean' },
      fps: { kind: 'number', min: 1, max: 240 },
    });
    const file = a.positionals[0];
    if (!file || a.positionals.length > 1) throw new InvalidArgumentError('replay: give exactly one recording file (see: worldloop replay --help)');
    if (a.flags.window && !hasDisplay()) {
      throw new UnsupportedError('replay --window needs a display; drop --window (headless replay) or use xvfb-run', 'WL_NO_DISPLAY');
    }
    const rec = loadRecording(file);
    const h = rec.header;
    // A recording from the browser page (webgpu, js) replays on the engine's own backend.
    const engineBackend = h.backend === 'cpu' || h.backend === 'cuda' ? (h.backend as BackendName) : 'auto';
    const backend = (a.flags.backend as BackendName | undefined) ?? engineBackend;
    let opened: OpenedWorld;
    const runtime = h.settings.runtime as RecordedRuntime | undefined;
    if (h.sourceKind === 'truth') {
      opened = await openWorld({ kind: 'truth', seed: h.seed, bare: true });
    } else {
      const steps = typeof h.settings.steps === 'number' ? h.settings.steps : undefined;
      const o = {
        backend,
        seed: h.seed,
        ...(steps !== undefined ? { steps } : {}),
        ...(a.flags.threads !== undefined ? { threads: a.flags.threads as number } : {}),
      };
      const modelPath = (a.flags.model as string | undefined) ?? DEFAULT_MODEL;
      if (runtime) {
        // Recorded by play/save/load: rebuild the same runtime around the model (pose tracker,
        // memory store, memory slots, revisit anchoring), since all of it shapes the frames.
        opened = await openWorld({
          kind: 'model',
          modelPath,
          ...o,
          memory: { capacity: runtime.memoryCapacity },
          storeEvery: runtime.storeEvery,
          // Recordings from before multi-step bridges anchored within one step only.
          anchor: runtime.anchor ? { maxSteps: runtime.anchorSteps ?? 1 } : false,
          memorySlots: runtime.memorySlots,
          ...(runtime.startImage !== undefined ? { startImage: runtime.startImage } : {}),
        });
      } else {
        // Recorded without the runtime around the model: the model world alone.
        opened = await openWorld({ kind: 'model', modelPath, ...o, bare: true });
      }
    }
    try {
      checkRecordingMatches(rec, opened.sourceId, opened.source.actionSpace, worldLayout().worldVersion, file, opened.source);
      if (opened.backend !== h.backend) {
        console.error(`replay: recorded on backend '${h.backend}', replaying on '${opened.backend}': frames may differ in low bits`);
        if (h.backend === 'webgpu' || h.backend === 'js') {
          console.error(
            `replay: '${h.backend}' is the browser page's backend (worldloop serve): its kernels round differently from the engine's, ` +
              'so frame CRCs may differ while the pictures agree (measured >= 40 dB PSNR, docs/browser.md); --export writes the frames to compare',
          );
        }
      }
      const fps = (a.flags.fps as number | undefined) ?? h.settings.fps;
      const verifier = new ReplayVerifier(rec);
      let sink: FrameSink | undefined;
      let window: Window | undefined;
      let output: LoopOutput | undefined;
      if (a.flags.export) {
        const s = sinkFor(a.flags.export as string, fps);
        sink = s;
        output = { present: (f) => s.write(f) };
      } else if (a.flags.window) {
        const w = Window.open({ title: `worldloop replay — ${file}`, width: 512, height: 512 });
        window = w;
        output = { present: (f) => w.present(f.rgb, f.width, f.height) };
      }
      const loop = new GameLoop({
        source: opened.source,
        input: new RecordingInput(rec),
        output,
        observers: [...opened.observers, verifier],
        realtime: !!a.flags.window,
        fps,
        seed: h.seed,
      });
      try {
        await loop.run();
      } finally {
        window?.close();
        await sink?.close();
      }
      if (sink) console.log(`exported ${sink.frames} frames to ${a.flags.export}`);
      console.log(formatReport(loop.profiler.report()));
      if (verifier.exact) {
        console.log(`replay: ${verifier.checked} frames bit-exact (${h.sourceId}, seed ${h.seed}, backend ${opened.backend})`);
        return 0;
      }
      console.log(
        `replay: ${file}: NOT exact — first frame ${verifier.firstFrameOk ? 'matches' : 'differs'}, ` +
          `${verifier.mismatches} of ${verifier.checked} frames differ` +
          (verifier.firstMismatch !== undefined ? ` (first at frame ${verifier.firstMismatch + 1})` : ''),
      );
      if (!verifier.firstFrameOk) {
        console.log(
          'replay: the starting frame already differs, before any action: the recording comes from a different ' +
            `build of the ${h.sourceKind === 'truth' ? 'ground-truth world' : 'engine'} or another backend (recorded on '${h.backend}')`,
        );
      }
      return 1;
    } finally {
      await opened.close();
    }
  },
};
export default command;
