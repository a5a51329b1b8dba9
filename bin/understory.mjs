#!/usr/bin/env node
// Launcher: registers tsx so the TypeScript sources run as they are (no separate build step),
// then hands over to the CLI. Node 20 cannot strip types by itself.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
