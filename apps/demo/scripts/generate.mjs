// `pnpm generate` (and the first step of `pnpm build`): `vidl gen idl --out src/generated`,
// through @veridian/codegen's API rather than its `vidl` bin. pnpm links a workspace
// package's bin only if the file exists at install time, and codegen's is built later, so on a
// fresh clone `node_modules/.bin/vidl` would be missing. Extra arguments pass through
// (`pnpm generate --check` fails with exit code 3 when src/generated is stale).
import { runCli } from '@veridian/codegen';

process.exitCode = await runCli(['gen', 'idl', '--out', 'src/generated', ...process.argv.slice(2)], {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
});
