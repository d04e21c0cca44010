/** `worldloop load`: continue a saved world (window or headless), optionally saving it again. */
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { MODEL_FLAGS } from '../model_flags.js';
import { SESSION_FLAGS, SESSION_HELP, sessionFlags } from '../session_flags.js';
import { PLAY_OUTPUT_FLAGS, PLAY_OUTPUT_HELP, checkSaveTarget, playOutputs, worldOptions } from '../play_flags.js';
import { openWorld } from '../../play/open_world.js';
import { runPlay } from '../../play/run_play.js';
import { readSave } from '../../save/world_save.js';
import { InvalidArgumentError } from '../../errors.js';

const help = `usage: worldloop load FILE.wlsave [--model PATH] [--save-to OUT] [--info] [flags]

Continues a saved world exactly where it was saved: the same context, counters and noise, so
the same actions give the same frames as if play had never stopped. A model save needs the same
model file (checked by SHA-256; default: the path stored in the save); a corrupt, truncated,
wrong-version or wrong-model file is refused with the reason.

  --model PATH        model file for a model save (default: the one named in the save)
  --backend B         cpu, cuda or auto (default auto; saves continue bit-exactly on the backend
                      they were made on)
  --threads N         CPU threads (default: all cores)
  --save-to OUT       save the world again when the session ends (atomic; --force to replace)
  --info              print what the save holds and exit
${PLAY_OUTPUT_HELP}
${SESSION_HELP}
  (--seed is not accepted: the seed comes from the save)

examples:
  worldloop load world.wlsave --hud
  worldloop load world.wlsave --headless --frames 300 --script walk.json --save-to later.wlsave
  worldloop load world.wlsave --info`;

function describe(path: string): string {
  const s = readSave(path);
  const h = s.header;
  const lines = [
    `${path}: ${h.label} (${h.kind} world)`,
    `  source      ${h.sourceId}`,
    `  seed        ${h.seed}, frame ${h.frameIndex}, ${h.settings.width}x${h.settings.height}${h.settings.steps ? `, ${h.settings.steps} steps` : ''}`,
    `  backend     ${h.backend}`,
    `  actions     ${h.actionSpace.channels.map((c) => c.name).join(', ')}`,
  ];
  if (h.pose) lines.push(`  pose        x ${h.pose.x.toFixed(2)}, y ${h.pose.y.toFixed(2)}, yaw ${((h.pose.yaw * 180) / Math.PI).toFixed(1)} deg`);
  if (h.memory) lines.push(`  memory      ${h.memory.count} of ${h.memory.capacity} views`);
  lines.push(`  sections    ${h.sections.map((x) => `${x.name} (${x.bytes} B)`).join(', ')}`);
  lines.push(`  saved at    ${h.createdAt}`);
  return lines.join('\n');
}

const command: Command = {
  name: 'load',
  summary: 'continue a saved world (window or headless)',
  help,
  async run(argv) {
    const a = parseArgs('load', argv, {
      ...MODEL_FLAGS,
      ...SESSION_FLAGS,
      ...PLAY_OUTPUT_FLAGS,
      'save-to': { kind: 'string' },
      info: { kind: 'boolean' },
    });
    if (a.positionals.length !== 1) throw new InvalidArgumentError('load: give exactly one save file (see: worldloop load --help)');
    const file = a.positionals[0]!;
    if (a.flags.info === true) {
      console.log(describe(file));
      return 0;
    }
    if (a.flags['memory-capacity'] !== undefined) throw new InvalidArgumentError('load: --memory-capacity is fixed by the save (set it with worldloop save)');
    if (a.flags.seed !== undefined) throw new InvalidArgumentError('load: --seed is not accepted; the seed comes from the save');
    const f = sessionFlags('load', a);
    const saveTo = a.flags['save-to'] as string | undefined;
    const outputs = playOutputs(a, saveTo);
    if (saveTo) checkSaveTarget('load', saveTo, outputs.force);
    const pw = await openWorld({ ...worldOptions(a), load: file });
    try {
      console.log(`loaded: ${file} (${pw.world.kind} world, seed ${pw.seed}${pw.memory ? `, ${pw.memory.size} memory views` : ''})`);
      await runPlay(pw, f, outputs, (l) => console.log(l));
    } finally {
      await pw.close();
    }
    return 0;
  },
};

export default command;
