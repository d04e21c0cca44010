/** `worldloop keys`: the active bindings against an action space (truth's, or a model's). */
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { describeBindings } from '../../input/action_mapper.js';
import { resolveBindings } from '../../loop/session.js';
import { worldActionSpace } from '../../world.js';
import { loadModel } from '../../model.js';
import type { ActionSpace } from '../../source.js';

const help = `usage: worldloop keys [--bindings FILE] [--model PATH] [--json]

Prints which keys, mouse motion and gamepad inputs drive each channel of the action vector, and
the runtime's own keys. Channels come from the ground-truth world, or from --model's manifest
(another model with other actions uses the same bindings file by channel name). 'unbound' =
a channel no input drives; 'unused' = a binding for a channel this world does not have.

  --bindings FILE   bindings JSON merged over the defaults
  --model PATH      show the action space of this model instead of the ground-truth world
  --json            print the merged bindings as JSON (a starting point for your own file)`;

const command: Command = {
  name: 'keys',
  summary: 'print the active key / gamepad bindings',
  help,
  async run(argv) {
    const a = parseArgs('keys', argv, { bindings: { kind: 'string' }, model: { kind: 'string' }, json: { kind: 'boolean' } });
    let space: ActionSpace;
    let from = 'ground-truth world';
    if (a.flags.model) {
      const m = await loadModel(a.flags.model as string, { backend: 'cpu', threads: 1, allowNonFiniteWeights: true });
      space = m.actionSpace;
      from = `model ${m.info.manifest.name}`;
      await m.close();
    } else {
      space = worldActionSpace();
    }
    const bindings = resolveBindings(a.flags.bindings as string | undefined, space.channels.map((c) => c.name));
    if (a.flags.json) {
      console.log(JSON.stringify(bindings, null, 2));
      return 0;
    }
    const d = describeBindings(space, bindings);
    const lines = [`action channels of the ${from}:`];
    for (const r of d.rows) {
      lines.push(`  ${r.channel.padEnd(10)} ${r.kind.padEnd(16)} ${r.status === 'bound' ? '' : `(${r.status}) `}${r.inputs.join(', ')}`);
    }
    lines.push('commands:');
    for (const [c, inputs] of d.commands) lines.push(`  ${c.padEnd(13)} ${inputs.join(', ')}`);
    const dz = bindings.deadzones;
    lines.push(`gamepad deadzones: stick ${dz.stick}, trigger ${dz.trigger}; mouse turns only while captured (click or M)`);
    console.log(lines.join('\n'));
    return 0;
  },
};
export default command;
