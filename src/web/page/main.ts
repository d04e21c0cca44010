/**
 * The play page `worldloop serve` serves (bundled by scripts/build_web.js into dist/web/page.js):
 * downloads the model file and parses it itself (src/web), starts the WebGPU backend (or the JS
 * backend with ?backend=js), opens the world from the truth world's first frames for the seed,
 * and steps it at the model's tick, presenting each frame on a canvas. Input goes through the
 * engine's ActionMapper with the default bindings (keyboard, mouse with pointer lock, gamepads);
 * light keys relight the world and place keys place objects (the server paints them: POST /place);
 * F1 shows the HUD; the play is recorded and can be downloaded as a .wlrec.
 *
 * Query: ?backend=webgpu|js, ?seed=N, ?steps=N, ?bench=N (time N frames, no input; results on
 * window.wlPage.bench and on the page as JSON).
 */
import { ActionMapper } from '../../input/action_mapper.js';
import { KIND_OF_PLACE_COMMAND, type CommandName } from '../../input/binding_types.js';
import { defaultBindings } from '../../input/default_bindings.js';
import { keyLightSetting, type LightKey, type LightSetting } from '../../lighting.js';
import { OBJECT_KINDS, type ObjectKind } from '../../object_kind.js';
import { placeKeyKind } from '../../object_placement.js';
import { modelTickHz } from '../../tick_rate.js';
import type { WebBackend } from '../backend.js';
import { JsBackend } from '../js_backend.js';
import { estimateArenaBytes, parseModelFile } from '../model_file.js';
import { WebModel } from '../web_model.js';
import { requestWebGpuBackend, type WebGpuBackend } from '../webgpu_backend.js';
import { describeFailure } from './failure_message.js';
import { GamepadTracker } from './gamepad_state.js';
import { FpsCounter, hudLines } from './hud_lines.js';
import { sdlKeyName } from './key_codes.js';
import { PageRecorder } from './page_recorder.js';
import type { PageBenchResult, PageStatus } from './page_status.js';
import { PageWorld, type PageFrame } from './page_world.js';
import { requestPlacement } from './place_request.js';
import { OPENING_LIMITS, ROUTES, type WorldInfo } from './world_info.js';

const status: PageStatus = { phase: 'loading', detail: 'starting', frameIndex: 0 };
window.wlPage = status;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

const ui = {
  title: el('h1', {}, 'worldloop'),
  progress: el('p', { id: 'progress' }, 'starting'),
  bar: el('progress', { id: 'bar', max: '1', value: '0' }),
  stage: el('div', { id: 'stage' }),
  canvas: el('canvas', { id: 'view', tabindex: '0' }),
  hud: el('pre', { id: 'hud', hidden: '' }),
  note: el('p', { id: 'note' }),
  download: el('button', { id: 'download', disabled: '' }, 'Download recording (.wlrec)'),
  failure: el('div', { id: 'failure', hidden: '' }),
  bench: el('pre', { id: 'bench', hidden: '' }),
  help: el(
    'p',
    { id: 'keys' },
    'W/S or Up/Down move, A/D strafe, Q/E or Left/Right turn, click the picture (or M) to turn with the mouse, ' +
      'Escape releases it; L light event, ] [ light level, T tint, Space spawn, 1-6 place a pillar / barrel / plant / lamp / crate / orb; ' +
      'P pause, R restart, F1 HUD, F12 screenshot. ' +
      'Gamepads: left stick moves, right stick turns, Y light, d-pad up/down level, X tint, A spawn, B places the next kind.',
  ),
};

function setProgress(text: string, fraction?: number): void {
  status.detail = text;
  ui.progress.textContent = text;
  if (fraction === undefined) ui.bar.removeAttribute('value');
  else ui.bar.value = fraction;
}

function showFailure(err: unknown, backend: string): void {
  const f = describeFailure(err, backend);
  status.phase = 'failed';
  status.failure = { kind: f.kind, title: f.title, detail: f.detail };
  ui.failure.hidden = false;
  ui.failure.replaceChildren(el('h2', {}, f.title), el('p', { class: 'detail' }, f.detail), el('p', {}, 'What to try:'));
  const list = el('ul');
  for (const t of f.tryLines) list.append(el('li', {}, t));
  ui.failure.append(list);
  ui.progress.textContent = f.title;
  ui.bar.hidden = true;
  console.error(`worldloop page: ${f.title}: ${f.detail}`);
}

async function fetchOk(path: string): Promise<Response> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} from the server`);
  return r;
}

/** The model file, with the download's progress on the page. */
async function downloadModel(info: WorldInfo): Promise<Uint8Array> {
  const r = await fetchOk(ROUTES.model);
  const total = Number(r.headers.get('content-length')) || info.modelBytes;
  if (!r.body) return new Uint8Array(await r.arrayBuffer());
  const out = new Uint8Array(total);
  let got = 0;
  const reader = r.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > out.length) throw new Error(`${ROUTES.model}: the server sent more than the ${total} bytes it announced`);
    out.set(value, got);
    got += value.length;
    setProgress(`downloading ${info.modelName}: ${(got / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MiB`, got / total);
  }
  if (got !== total) throw new Error(`${ROUTES.model}: got ${got} of ${total} bytes`);
  return out;
}

/** The backend the query asks for; WebGPU is sized to the model before its device is made. */
async function startBackend(kind: string, bytes: Uint8Array, name: string): Promise<WebBackend> {
  if (kind === 'js') return new JsBackend();
  if (kind !== 'webgpu') throw new Error(`?backend=${kind}: the page has the backends webgpu and js`);
  const { file, manifest } = parseModelFile(bytes, { name });
  const weightBytes = file.tensors.reduce((s, t) => s + t.numel * 4, 0);
  setProgress('starting WebGPU: compiling the kernels (tens of seconds on a software adapter)');
  return requestWebGpuBackend({ arenaBytes: weightBytes + estimateArenaBytes(manifest) });
}

function present(ctx: CanvasRenderingContext2D, image: ImageData, f: PageFrame): void {
  const px = image.data;
  for (let i = 0, j = 0; i < f.rgb.length; i += 3, j += 4) {
    px[j] = f.rgb[i]!;
    px[j + 1] = f.rgb[i + 1]!;
    px[j + 2] = f.rgb[i + 2]!;
    px[j + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

function saveBlob(bytes: Uint8Array | Blob, fileName: string, type: string): void {
  const blob = bytes instanceof Blob ? bytes : new Blob([bytes as Uint8Array<ArrayBuffer>], { type });
  const a = el('a', { href: URL.createObjectURL(blob), download: fileName });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/**
 * ?bench=N: a warm-up frame, N frames with nothing labelled (the frame time a player gets), then,
 * where the adapter has timestamp queries, N frames with each stage labelled for the GPU timer
 * (labelling splits the frame into one compute pass per stage, which costs a little).
 */
async function runBench(world: PageWorld, model: WebModel, backend: WebBackend, frames: number, loadMs: number): Promise<void> {
  const gpu = backend.name === 'webgpu' ? (backend as WebGpuBackend) : undefined;
  const timed = gpu?.timesGpu === true;
  const still = new Float32Array(world.actionSpace.channels.length);
  setProgress('bench: warm-up frame');
  await world.step(still, false);
  const r: PageBenchResult = {
    backend: backend.name,
    adapter: gpu?.adapter ?? '',
    model: model.fileName,
    steps: world.steps,
    frames,
    frameMs: [],
    labelledFrameMs: [],
    gpuMs: timed ? {} : null,
    loadMs,
  };
  for (let i = 0; i < frames; i++) {
    setProgress(`bench: frame ${i + 1} of ${frames}`, i / frames);
    const t0 = performance.now();
    await world.step(still, false);
    r.frameMs.push(performance.now() - t0);
    status.frameIndex = world.frameIndex;
  }
  if (gpu && timed) {
    model.labelStages = true;
    for (let i = 0; i < frames; i++) {
      setProgress(`bench: GPU times, frame ${i + 1} of ${frames}`, i / frames);
      const t0 = performance.now();
      await world.step(still, false);
      r.labelledFrameMs.push(performance.now() - t0);
      status.frameIndex = world.frameIndex;
      const g = await gpu.gpuTimes();
      if (g && r.gpuMs) for (const [label, ms] of g) (r.gpuMs[label] ??= []).push(ms);
    }
    model.labelStages = false;
  }
  status.bench = r;
  status.phase = 'bench-done';
  ui.bench.hidden = false;
  ui.bench.textContent = JSON.stringify(r, null, 1);
  setProgress(`bench done: ${frames} frames`, 1);
}

async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const backendKind = q.get('backend') ?? 'webgpu';
  ui.stage.append(ui.canvas, ui.hud);
  document.body.append(ui.title, ui.progress, ui.bar, ui.failure, ui.stage, ui.download, ui.note, ui.help, ui.bench);

  const info = (await (await fetchOk(ROUTES.info)).json()) as WorldInfo;
  const seed = q.has('seed') ? Number(q.get('seed')) : info.seed;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`?seed=${q.get('seed')}: a seed is an integer in 0..4294967295`);
  const benchFrames = q.has('bench') ? Number(q.get('bench')) : 0;
  if (!Number.isInteger(benchFrames) || benchFrames < 0 || benchFrames > 10_000) throw new Error(`?bench=${q.get('bench')}: give a frame count in 1..10000`);
  const bytes = await downloadModel(info);
  const t0 = performance.now();
  const backend = await startBackend(backendKind, bytes, info.modelName);
  setProgress('uploading the weights');
  const model = await WebModel.load(bytes, backend, { name: info.modelName });
  const steps = q.has('steps') ? Number(q.get('steps')) : undefined;
  const world = new PageWorld(model, { ...(steps !== undefined ? { steps } : {}), lightPresets: info.lightPresets, motionSpeeds: info.motionSpeeds });
  const k = model.dims.context;
  if (k > OPENING_LIMITS.maxContext) throw new Error(`the model's context of ${k} frames is more than the server opens (${OPENING_LIMITS.maxContext})`);
  const openingOf = async (s: number): Promise<Uint8Array> => {
    setProgress(`opening the world for seed ${s}`);
    const r = await fetchOk(`${ROUTES.opening}?seed=${s}&k=${k}&width=${world.width}&height=${world.height}`);
    return new Uint8Array(await r.arrayBuffer());
  };
  let frame = await world.open(seed, await openingOf(seed));
  const loadMs = performance.now() - t0;
  const gpu = backend.name === 'webgpu' ? (backend as WebGpuBackend) : undefined;

  ui.canvas.width = world.width;
  ui.canvas.height = world.height;
  const ctx = ui.canvas.getContext('2d');
  if (!ctx) throw new Error('the canvas has no 2D context');
  const image = ctx.createImageData(world.width, world.height);
  present(ctx, image, frame);
  if (benchFrames > 0) return runBench(world, model, backend, benchFrames, loadMs);

  const tickHz = modelTickHz(model.manifest as { training?: Record<string, unknown> });
  const recInfo = {
    sourceId: info.sourceId,
    modelName: model.manifest.name,
    backend: backend.name,
    seed,
    steps: world.steps,
    fps: tickHz,
    width: world.width,
    height: world.height,
    actionSpace: world.actionSpace,
    worldVersion: info.worldVersion,
  };
  let recorder = new PageRecorder(recInfo, frame.rgb);
  const bindings = defaultBindings();
  const mapper = new ActionMapper(world.actionSpace, bindings);
  const pads = new GamepadTracker(bindings.deadzones);
  const fps = new FpsCounter();
  let paused = false;
  let hud = false;
  let gpuMs: Map<string, number> | null | undefined = gpu ? (gpu.timesGpu ? new Map() : null) : undefined;
  let restart = false;
  /** A light key pressed since the last step: applied just before the next one, as play does. */
  let lightKey: LightKey | undefined;
  /** A place key pressed since the last step (a kind, or 'next'): placed after any light, as play does. */
  let placeKey: ObjectKind | 'next' | undefined;
  /** Index in OBJECT_KINDS of the kind placed last (gamepad B places the one after it). */
  let lastPlaced = -1;
  /** Once a stage was labelled the timer keeps timing: drain it every frame from then on. */
  let timerUsed = false;
  const note = (text: string) => {
    ui.note.textContent = text;
  };

  const onCommand = (c: CommandName) => {
    switch (c) {
      case 'hud':
        hud = !hud;
        ui.hud.hidden = !hud;
        model.labelStages = hud && gpu?.timesGpu === true;
        timerUsed ||= model.labelStages;
        break;
      case 'pause':
        paused = !paused;
        note(paused ? 'paused (P resumes)' : '');
        break;
      case 'reset':
        restart = true;
        break;
      case 'captureMouse':
        if (document.pointerLockElement) document.exitPointerLock();
        else void ui.canvas.requestPointerLock();
        break;
      case 'quit':
        if (document.pointerLockElement) document.exitPointerLock();
        break;
      case 'lightUp':
      case 'lightDown':
      case 'tintNext':
        lightKey = c;
        break;
      case 'screenshot':
        ui.canvas.toBlob((b) => b && saveBlob(b, `worldloop-${seed}-${world.frameIndex}.png`, 'image/png'));
        break;
      case 'placeNext':
        placeKey = 'next';
        break;
      default:
        if (KIND_OF_PLACE_COMMAND.has(c)) placeKey = KIND_OF_PLACE_COMMAND.get(c)!;
        // Saves need the engine (docs/browser.md).
        else note(`${c}: not available in the browser page (play it with worldloop play)`);
    }
  };
  const handleKey = (e: KeyboardEvent, type: 'keydown' | 'keyup') => {
    const key = sdlKeyName(e.code);
    if (key === undefined) return;
    const bound = Object.values(bindings.commands).some((l) => l?.includes(key)) || Object.values(bindings.actions).some((b) => b.keys?.[key] !== undefined);
    if (bound) e.preventDefault(); // F1, F5, Space... belong to the game while the page has focus
    for (const c of mapper.handle({ type, key, repeat: e.repeat })) onCommand(c);
  };
  window.addEventListener('keydown', (e) => handleKey(e, 'keydown'));
  window.addEventListener('keyup', (e) => handleKey(e, 'keyup'));
  window.addEventListener('blur', () => mapper.handle({ type: 'blur' }));
  ui.canvas.addEventListener('click', () => {
    if (!document.pointerLockElement) void ui.canvas.requestPointerLock();
  });
  document.addEventListener('pointerlockchange', () => mapper.setMouseCaptured(document.pointerLockElement === ui.canvas));
  document.addEventListener('mousemove', (e) => {
    if (document.pointerLockElement === ui.canvas) mapper.handle({ type: 'mousemotion', dx: e.movementX, dy: e.movementY });
  });
  ui.download.disabled = false;
  ui.download.addEventListener('click', () => saveBlob(recorder.encode(), `worldloop-seed${seed}-${recorder.frames}f.wlrec`, 'application/octet-stream'));

  status.phase = 'playing';
  setProgress(`playing ${info.modelName} on ${backend.name}${gpu ? ` (${gpu.adapter})` : ''}, ${tickHz} ticks/s`, 1);
  ui.bar.hidden = true;
  // One step per tick of the model's clock; a step slower than a tick slows the world down (every
  // action is still one tick of its time), as the engine's loop does without frame skipping.
  const tickMs = 1000 / tickHz;
  let next = performance.now();
  for (;;) {
    const wait = next - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    next = Math.max(next + tickMs, performance.now());
    const gp = pads.update(typeof navigator.getGamepads === 'function' ? navigator.getGamepads() : []);
    for (const ev of gp.events) for (const c of mapper.handle(ev)) onCommand(c);
    mapper.setGamepads(gp.states);
    if (restart) {
      restart = false;
      frame = await world.open(seed, await openingOf(seed));
      recorder = new PageRecorder(recInfo, frame.rgb);
      present(ctx, image, frame);
      note('restarted: a new recording begins');
      continue;
    }
    if (paused) continue;
    const action = mapper.read();
    const t = performance.now();
    let light: LightSetting | undefined;
    if (lightKey && world.canSetLight) {
      light = keyLightSetting(world.light()!, lightKey);
      await world.setLight(light);
      note(`light: level ${light.level.toFixed(1)}, tint ${light.tint.map((v) => v.toFixed(2)).join(' ')}`);
    }
    lightKey = undefined;
    let place: ObjectKind | undefined;
    if (placeKey) {
      const kinds = world.objectKinds();
      const kind = placeKeyKind(placeKey, kinds, lastPlaced);
      if (!kind) {
        note(kinds.length ? `this model has no ${String(placeKey)} to place (it has ${kinds.join(', ')})` : 'this model has no object kinds to place (its manifest lists none)');
      } else {
        try {
          // The server's truth renderer paints; a failure leaves the world as it was.
          await world.placeObject(kind, (r) => requestPlacement(ROUTES.place, r));
          place = kind;
          lastPlaced = OBJECT_KINDS.indexOf(kind);
          note(`placed a ${kind}`);
        } catch (err) {
          note(`could not place a ${kind}: ${(err as Error).message}`);
        }
      }
    }
    placeKey = undefined;
    frame = await world.step(action, false);
    const stepMs = performance.now() - t;
    recorder.add(action, frame.rgb, light, place);
    present(ctx, image, frame);
    status.frameIndex = world.frameIndex;
    const rate = fps.tick(performance.now());
    if (gpu && timerUsed) gpuMs = await gpu.gpuTimes();
    if (hud) {
      ui.hud.textContent = hudLines({
        fps: rate, stepMs, frameIndex: world.frameIndex, seed, backend: backend.name, adapter: gpu?.adapter ?? '', gpuMs, paused, recorded: recorder.frames,
      }).join('\n');
    }
  }
}

main().catch((err: unknown) => showFailure(err, new URLSearchParams(location.search).get('backend') ?? 'webgpu'));
