#!/usr/bin/env node
// The installed entry point runs the compiled CLI (`npm run build` writes dist/).
import { runCli } from '../dist/cli.js';

await runCli(process.argv);
