#!/usr/bin/env -S node --max-semi-space-size=1
// Thin launcher: runs the compiled CLI (npm run build:ts writes dist/).
// V8's young generation is capped at 1 MiB: left to grow, it held a 30-minute paced session's
// resident memory 7-9 % above where it started, capped it stays within 1 % and frame times are no
// worse (docs/runtime.md, "Measured"). `node bin/worldloop.js` skips the shebang and the cap.
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exit(1);
  },
);
