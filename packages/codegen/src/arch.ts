import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Arch } from '@veridian/core';

/**
 * What an architecture's register fast path can carry, as `vidl layout` needs it. It is read
 * from the backend's own `Arch` (see {@link archLimits}); codegen knows no arch by itself.
 */
export interface ArchLimits {
  /** Arch name as the backend spells it (`Arch.name`). */
  readonly name: string;
  /** Most payload bytes a register message carries: 8 per data register of the fast-path layout. */
  readonly maxSmallData: number;
  /** Most capabilities a register message carries: the capability slots of the fast-path layout. */
  readonly maxSmallCaps: number;
}

/**
 * The limits of a backend's register fast path, from its layout.
 *
 * @example
 * ```ts
 * import { riscv64 } from '@veridian/arch-riscv64';
 * archLimits(riscv64); // { name: 'riscv64', maxSmallData: 64, maxSmallCaps: 4 }
 * ```
 */
export function archLimits(arch: Arch): ArchLimits {
  return Object.freeze({ name: arch.name, maxSmallData: arch.fastPath.layout.data.length * 8, maxSmallCaps: arch.fastPath.layout.caps.length });
}

/** True for a value shaped like an `Arch` (name, fast-path layout, MMU factory). */
export function isArch(value: unknown): value is Arch {
  const v = value as Partial<Arch> | null;
  return typeof v === 'object' && v !== null && typeof v.name === 'string' && typeof v.createMmu === 'function' && Array.isArray(v.fastPath?.layout?.data) && Array.isArray(v.fastPath?.layout?.caps);
}

const SCOPE = '@veridian';
const isPath = (spec: string) => spec.startsWith('.') || isAbsolute(spec) || spec.startsWith('file:') || /\.[cm]?[jt]s$/.test(spec);

/** The entry file of package `name` installed in a `node_modules` at or above `from`, or undefined. */
function resolveInstalled(name: string, from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', name);
    const manifest = join(pkgDir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: unknown; main?: string };
      const dot = typeof pkg.exports === 'object' && pkg.exports !== null && '.' in pkg.exports ? (pkg.exports as Record<string, unknown>)['.'] : pkg.exports;
      const candidates: string[] = [];
      if (typeof dot === 'string') candidates.push(dot);
      else if (typeof dot === 'object' && dot !== null) {
        const c = dot as Record<string, unknown>;
        for (const k of ['import', 'default', '@veridian/source']) if (typeof c[k] === 'string') candidates.push(c[k]);
      }
      if (pkg.main) candidates.push(pkg.main);
      for (const c of candidates) if (existsSync(join(pkgDir, c))) return join(pkgDir, c);
      return undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

async function importModule(spec: string, cwd: string, also?: string): Promise<Record<string, unknown> | undefined> {
  if (isPath(spec)) {
    const url = spec.startsWith('file:') ? spec : pathToFileURL(resolve(cwd, spec)).href;
    if (!existsSync(fileURLToPath(url))) return undefined;
    return (await import(url)) as Record<string, unknown>;
  }
  const file = resolveInstalled(spec, cwd) ?? (also === undefined ? undefined : resolveInstalled(spec, also));
  if (file) return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  try {
    return (await import(spec)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Loads a backend's `Arch` for `vidl layout --arch SPEC`. `SPEC` is an arch name (`riscv64`
 * loads the package `@veridian/arch-riscv64`), a package name, or a module path (relative to
 * `cwd`), optionally followed by `#exportName`. Without an export name the module's `Arch`
 * export whose key is its `exportName` and name is chosen first, then any `Arch` export.
 * Packages are looked up in the `node_modules` folders at and above `cwd`, then beside this package. Throws an `Error`
 * starting `unknown arch 'SPEC'` when nothing matches.
 *
 * @example
 * ```ts
 * const arch = await loadArch('./my-backend/dist/index.js#myCpu', process.cwd());
 * ```
 */
export async function loadArch(spec: string, cwd: string): Promise<Arch> {
  const hash = spec.lastIndexOf('#');
  const [moduleSpec, exportName] = hash > 0 ? [spec.slice(0, hash), spec.slice(hash + 1)] : [spec, undefined];
  const tries = !isPath(moduleSpec) && /^[a-z0-9_]+$/.test(moduleSpec) ? [`${SCOPE}/arch-${moduleSpec}`, moduleSpec] : [moduleSpec];
  const here = dirname(fileURLToPath(import.meta.url));
  for (const t of tries) {
    const mod = await importModule(t, cwd, here);
    if (!mod) continue;
    if (exportName !== undefined) {
      if (isArch(mod[exportName])) return mod[exportName];
      throw new Error(`unknown arch '${spec}': ${t} has no Arch export '${exportName}'`);
    }
    const arches = Object.entries(mod).filter((e): e is [string, Arch] => isArch(e[1]));
    const best =
      arches.find(([k, a]) => k === a.exportName && a.name === moduleSpec) ?? arches.find(([k, a]) => k === a.exportName && k === a.name) ?? arches.find(([k]) => k === 'default') ?? arches[0];
    if (best) return best[1];
    throw new Error(`unknown arch '${spec}': ${t} exports no Arch`);
  }
  throw new Error(`unknown arch '${spec}': no package ${tries.join(' or ')} is installed and it is no module path`);
}

/** Names (`@veridian/arch-*`) of the arch packages installed at or above each folder in `from`, sorted and without duplicates. */
export function installedArchPackages(from: readonly string[]): string[] {
  const found = new Set<string>();
  for (const start of from) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      const scope = join(dir, 'node_modules', SCOPE);
      if (existsSync(scope)) for (const e of readdirSync(scope)) if (e.startsWith('arch-')) found.add(`${SCOPE}/${e}`);
      if (dirname(dir) === dir) break;
    }
  }
  return [...found].sort();
}

/**
 * The arches of `vidl layout --arch SPEC`: `all` is every `@veridian/arch-*` package installed
 * at or above `cwd` (or beside this package), otherwise the one {@link loadArch} finds. Throws
 * when there is none.
 *
 * @example
 * ```ts
 * (await resolveArches('all', process.cwd())).map((a) => a.name); // e.g. ['aarch64', 'riscv64', 'x86_64']
 * ```
 */
export async function resolveArches(spec: string, cwd: string): Promise<ArchLimits[]> {
  if (spec !== 'all') return [archLimits(await loadArch(spec, cwd))];
  const here = dirname(fileURLToPath(import.meta.url));
  const out: ArchLimits[] = [];
  for (const pkg of installedArchPackages([cwd, here])) {
    const mod = await importModule(pkg, cwd, here);
    const arch = mod && Object.entries(mod).find(([k, a]) => isArch(a) && k === a.exportName && k === a.name);
    if (arch && !out.some((a) => a.name === (arch[1] as Arch).name)) out.push(archLimits(arch[1] as Arch));
  }
  if (out.length === 0) throw new Error("no arch package (@veridian/arch-*) is installed: name one with --arch NAME|PACKAGE|MODULE");
  return out;
}

/**
 * What the kernel's large-message path carries on every arch (core's `MAX_LARGE_DATA` and
 * `MAX_LARGE_CAPS`; a test checks the copies agree). A message whose declared bounds allow
 * more cannot always be sent: `vidl` warns (VIDL0406) and `vidl layout` says `too-large`.
 */
export const KERNEL_LIMITS = { maxLargeData: 1 << 20, maxLargeCaps: 64 } as const;
