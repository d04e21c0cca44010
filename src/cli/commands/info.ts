/** `worldloop info MODEL`: what a model file holds — manifest, sizes, action space, memory. */
import { statSync } from 'node:fs';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { InvalidArgumentError } from '../../errors.js';
import { loadModel, type BackendName, type Manifest } from '../../model.js';
import type { ActionSpace } from '../../source.js';
import { listedObjectKinds, objectKindsOf } from '../../object_placement.js';
import { sha256File } from '../../record/source_identity.js';
import { EXIT_BAD_INPUT } from '../exit_codes.js';

const help = `usage: worldloop info MODEL [--backend cpu|cuda|auto] [--json]

Loads a .safetensors world model (validating every tensor) and prints its manifest: name, format
version, frame and latent sizes, context length, sampler defaults, the action space (which the
key bindings map onto), parameter counts, memory, backend and the file's SHA-256 (the identity
recordings store). Every weight is checked: NaN or Inf weights are listed by tensor, and
then the exit status is 3 (play refuses such a model).

  --backend B   engine backend to load on (default cpu)
  --json        print the full info as JSON

example: worldloop info models/default.safetensors`;

/** The kinds play can place in this model's world, and where the list comes from. */
function placeableLine(m: Manifest, space: ActionSpace): string {
  const kinds = objectKindsOf(m, space);
  const listed = listedObjectKinds(m);
  const undrawable = (listed ?? []).filter((k) => !(kinds as readonly string[]).includes(k));
  const note = undrawable.length ? ` (the manifest also lists ${undrawable.join(', ')}, which this runtime cannot draw)` : '';
  if (kinds.length === 0) return `none to place${listed ? '' : ' (no objects.kinds in the manifest, no spawn event)'}${note}`;
  return `${kinds.join(', ')}${listed ? '' : " (the truth world's: the manifest lists none)"}${note}`;
}

const command: Command = {
  name: 'info',
  summary: 'describe a model file (manifest, sizes, action space, memory)',
  help,
  async run(argv) {
    const a = parseArgs('info', argv, { backend: { kind: 'string', choices: ['cpu', 'cuda', 'auto'] }, json: { kind: 'boolean' } });
    const path = a.positionals[0];
    if (!path || a.positionals.length > 1) throw new InvalidArgumentError('info: give exactly one model file (see: worldloop info --help)');
    const model = await loadModel(path, { backend: (a.flags.backend as BackendName | undefined) ?? 'cpu', allowNonFiniteWeights: true });
    try {
      const sha = await sha256File(path);
      const { info, dims } = model;
      // A model with NaN/Inf weights is described, but its exit status says it is refused to run.
      const bad = info.nanWeights ?? [];
      const status = bad.length ? EXIT_BAD_INPUT : 0;
      const badLine = `${path}: non-finite weights in ${bad.length} tensor${bad.length === 1 ? '' : 's'} (play refuses this model): ${bad.join('; ')}`;
      if (a.flags.json) {
        console.log(JSON.stringify({ path, sha256: sha, bytes: statSync(path).size, dims, actionSpace: model.actionSpace, ...info.raw }, null, 2));
        if (bad.length) console.error(badLine);
        return status;
      }
      const m = info.manifest;
      const lines = [
        `model      ${m.name} (${m.format} v${m.format_version})`,
        `file       ${path}  ${(statSync(path).size / 1e6).toFixed(1)} MB  sha256:${sha}`,
        `frames     ${dims.frameWidth}x${dims.frameHeight} RGB`,
        `latent     ${dims.latentChannels}x${dims.latentHeight}x${dims.latentWidth}  context ${dims.context} frames`,
        `sampler    ${dims.defaultSteps} Euler steps by default${m.denoiser?.predicts === 'residual' ? '; predicts the change from the newest context latent (copy-then-correct)' : ''}`,
        `views      ${dims.memorySlots > 0 ? `${dims.memorySlots} spatial-memory slots (pose features ${dims.memoryPoseDim})` : 'no spatial-memory slots'}`,
        `backend    ${info.backend}${info.isa ? ` (${info.isa}${info.conv === 'bf16' ? ', bf16 convs' : ''})` : ''}${info.threads ? `, ${info.threads} threads` : ''}`,
        `memory     ${(info.memoryBytes / 1e6).toFixed(1)} MB  loaded in ${info.loadMs.toFixed(0)} ms`,
        `params     ${Object.entries(info.params).map(([k, v]) => `${k} ${(v / 1e6).toFixed(2)}M`).join(', ')}`,
        'actions:',
        ...model.actionSpace.channels.map((c, i) => `  ${String(i).padStart(2)} ${c.name.padEnd(10)} ${c.kind.padEnd(5)} [${c.min}, ${c.max}]`),
        `objects    ${placeableLine(m, model.actionSpace)}`,
      ];
      if (m.training) lines.push(`training   ${JSON.stringify(m.training)}`);
      lines.push(`weights    ${bad.length ? `NOT FINITE in ${bad.length} tensor${bad.length === 1 ? '' : 's'}: ${bad.join('; ')}` : 'all finite'}`);
      console.log(lines.join('\n'));
      if (bad.length) console.error(badLine);
      return status;
    } finally {
      await model.close();
    }
  },
};
export default command;
