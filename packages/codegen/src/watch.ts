import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** Options of {@link watchFiles}. */
export interface WatchOptions {
  /** The files to watch; asked again after every change (imports may add files). */
  files: () => Iterable<string>;
  /** Directories whose `.vidl` files count as watched, new ones included (asked again after every change). */
  directories?: () => Iterable<string>;
  /** Called once per burst of changes, with the changed paths. */
  onChange: (changed: string[]) => void;
  /** Quiet time that ends a burst (editors write a file in several steps). Default 50 ms. */
  debounceMs?: number;
  /** Stops watching when aborted. */
  signal?: AbortSignal;
}

/** A running watch. */
export interface Watcher {
  /** Stops watching. */
  close(): void;
}

/**
 * Watches files through their directories, because editors often replace a file (write a
 * new one, rename it over the old) and a watch on the file itself would lose track of it.
 */
export function watchFiles(options: WatchOptions): Watcher {
  const debounceMs = options.debounceMs ?? 50;
  const watchers = new Map<string, FSWatcher>();
  let wanted = new Set<string>();
  let wantedDirs = new Set<string>();
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const refresh = () => {
    wanted = new Set([...options.files()].map((f) => resolve(f)));
    wantedDirs = new Set([...(options.directories?.() ?? [])].map((d) => resolve(d)));
    const dirs = new Set([...[...wanted].map((f) => dirname(f)), ...wantedDirs]);
    for (const [dir, watcher] of watchers) {
      if (!dirs.has(dir)) {
        watcher.close();
        watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, (_event, name) => {
          if (closed || name === null) return;
          const path = resolve(dir, name.toString());
          const inDirectory = wantedDirs.has(dir) && path.endsWith('.vidl');
          if (!inDirectory && !wanted.has(path) && !wanted.has(resolve(dir, basename(path)))) return;
          pending.add(path);
          clearTimeout(timer);
          timer = setTimeout(flush, debounceMs);
        });
        watcher.on('error', () => watcher.close());
        watchers.set(dir, watcher);
      } catch {
        // A directory that vanished cannot be watched; its files report their errors on the next run.
      }
    }
  };
  const flush = () => {
    if (closed) return;
    const changed = [...pending];
    pending = new Set();
    options.onChange(changed);
    refresh();
  };
  const close = () => {
    closed = true;
    clearTimeout(timer);
    for (const watcher of watchers.values()) watcher.close();
    watchers.clear();
  };
  options.signal?.addEventListener('abort', close, { once: true });
  refresh();
  return { close };
}
