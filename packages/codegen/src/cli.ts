#!/usr/bin/env node
/**
 * The `vidl` executable (the package's `bin`): runs the command line and exits with its code.
 * @packageDocumentation
 */
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
  stdin: process.stdin,
});
