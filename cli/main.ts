import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';

/**
 * `understory` — one program that runs any component. Each subcommand lives in cli/commands/<name>.ts and
 * exports `register(program)`, so adding a component never touches this file.
 */
export interface CommandModule {
  register(program: Command): void;
}

const program = new Command('understory')
  .description('eBPF observability for Kubernetes: run any Understory component')
  .showHelpAfterError()
  .enablePositionalOptions();

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
// .ts from the sources (through tsx), .js in a tree compiled by scripts/build-js.mjs.
const ext = import.meta.url.endsWith('.js') ? '.js' : '.ts';
const files = readdirSync(commandsDir)
  .filter((f) => f.endsWith(ext) && !f.endsWith(`.test${ext}`))
  .sort();
// Load only the module of the subcommand being run (file name = command name), so e.g. `understory replay`
// does not load the embedded ClickHouse. `--help` and unknown commands load them all.
const wanted = `${process.argv[2] ?? ''}${ext}`;
for (const f of files.includes(wanted) ? [wanted] : files) {
  const mod = (await import(pathToFileURL(join(commandsDir, f)).href)) as CommandModule;
  mod.register(program);
}

await program.parseAsync(process.argv);
