/** `worldloop serve`: the browser play page and the model file over HTTP (src/serve). */
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { InvalidArgumentError } from '../../errors.js';
import { DEFAULT_MODEL, resolveModelPath } from '../../play/model_path.js';
import { isLoopbackHost, startWebServer } from '../../serve/web_server.js';

export const DEFAULT_SERVE_PORT = 8321;

const help = `usage: worldloop serve [--model PATH] [--port N] [--host ADDR [--public]] [--seed N]

Serves the play page: the model runs in the browser, on the player's GPU through WebGPU (or on
the plain JavaScript backend with ?backend=js). The page downloads the model file, checks it as
the engine does, and plays it at the model's tick with the default key bindings; F1 shows the
HUD, and the play can be downloaded as a .wlrec that 'worldloop replay' runs. Stop with Ctrl-C.

  --model PATH    .safetensors model (default ${DEFAULT_MODEL})
  --port N        TCP port (default ${DEFAULT_SERVE_PORT}; 0 picks a free one)
  --host ADDR     address to listen on (default 127.0.0.1: this machine only)
  --public        required with a --host that is not loopback: anyone who can reach the address
                  gets the page and the model file. Browsers give WebGPU only to https pages and
                  to localhost, so players on other machines need https in front (a reverse proxy)
  --seed N        the world the page opens (default 1; the page's ?seed=N overrides it)

page options (in the address): ?backend=js  ?seed=N  ?steps=N  ?bench=N (time N frames; JSON)
docs/browser.md has the keys, the failure messages and what the page cannot do.

examples:
  worldloop serve
  worldloop serve --model models/small.safetensors --port 9000`;

const command: Command = {
  name: 'serve',
  summary: 'serve the browser play page (WebGPU) and the model file',
  help,
  async run(argv) {
    const a = parseArgs('serve', argv, {
      model: { kind: 'string' },
      port: { kind: 'int', min: 0, max: 65535 },
      host: { kind: 'string' },
      public: { kind: 'boolean' },
      seed: { kind: 'int', min: 0, max: 0xffffffff },
    });
    if (a.positionals.length > 0) throw new InvalidArgumentError(`serve: unexpected argument '${a.positionals[0]}' (see: worldloop serve --help)`);
    const host = (a.flags.host as string | undefined) ?? '127.0.0.1';
    if (host.trim() === '') throw new InvalidArgumentError('serve: --host needs an address');
    if (!isLoopbackHost(host) && !a.flags.public) {
      throw new InvalidArgumentError(
        `serve: --host ${host} serves beyond this machine; add --public to do that on purpose (anyone who can reach it gets the model file)`,
      );
    }
    const server = await startWebServer({
      modelPath: resolveModelPath((a.flags.model as string | undefined) ?? DEFAULT_MODEL),
      host,
      port: (a.flags.port as number | undefined) ?? DEFAULT_SERVE_PORT,
      ...(a.flags.seed !== undefined ? { seed: a.flags.seed as number } : {}),
    });
    console.log(`worldloop serve: ${server.info.modelName} (${(server.info.modelBytes / 1048576).toFixed(1)} MiB) at ${server.url}`);
    if (!isLoopbackHost(host)) {
      console.log(`worldloop serve: listening on ${host} (--public): reachable from other machines; browsers there need https for WebGPU`);
    }
    console.log('open it in Chrome or Edge 113+ (WebGPU); Ctrl-C stops');
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    return 0;
  },
};
export default command;
