/** Packing workspace packages and installing the tarballs into a project outside the workspace (as `npm` users get them). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root. */
export const root = new URL('../..', import.meta.url).pathname;

/** Folder of a workspace package by name (`@veridian/core` → `packages/core`). */
export const dirOf = (name: string): string => join(root, 'packages', name.replace('@veridian/', ''));

/** Packs each package (from its built `dist`) into `dest`; returns the tarball paths. */
export function packTarballs(names: readonly string[], dest: string): string[] {
  mkdirSync(dest, { recursive: true });
  for (const name of names) execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: dirOf(name), stdio: 'pipe' });
  return readdirSync(dest).map((f) => join(dest, f));
}

/** `npm install`s `specs` (tarball paths or registry names) into `project`, quietly. */
export function npmInstall(project: string, specs: readonly string[]): void {
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...specs], { cwd: project, stdio: 'pipe' });
}
