#!/usr/bin/env node
// Launcher. In the repository it registers tsx so the TypeScript sources run as they are (no build step;
// Node 20 cannot strip types by itself). In a tree compiled by scripts/build-js.mjs (the container images)
// cli/main.js sits beside the sources' place and runs on plain node, without tsx's loader thread.
import { existsSync } from 'node:fs';

const compiled = new URL('../cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
