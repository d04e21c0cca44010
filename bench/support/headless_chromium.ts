/**
 * Headless Chromium for the page's tests and its bench (bench/web.ts): Debian's chromium as
 * scripts/setup.sh installs it, driven by playwright-core (a dev dependency; nothing downloads a
 * browser). By default WebGPU runs on Chromium's software adapter (SwiftShader), which every
 * machine has; `adapter: 'gpu'` asks for the machine's GPU instead. Pages must come from
 * http://127.0.0.1 (a secure context): WebGPU is not exposed to data: or file: URLs.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.WL_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep a headless Chromium quiet on a machine without network. */
const QUIET_ARGS = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export const CHROMIUM_ARGS = [
  '--no-sandbox', // tests run as root
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
  ...QUIET_ARGS,
];

/** WebGPU on the machine's own GPU (Vulkan on Linux), where Chromium has a driver for it. */
export const CHROMIUM_GPU_ARGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--ignore-gpu-blocklist', ...QUIET_ARGS];

export async function launchChromium(opts: { adapter?: 'swiftshader' | 'gpu' } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: run scripts/setup.sh (it installs Debian's chromium) ` +
        'or point WL_CHROMIUM at a Chromium binary',
    );
  }
  const args = opts.adapter === 'gpu' ? CHROMIUM_GPU_ARGS : CHROMIUM_ARGS;
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args });
}
