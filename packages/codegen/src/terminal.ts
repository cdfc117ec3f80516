/**
 * Whether to colour output written to `stream`: never with `NO_COLOR` set (no-color.org),
 * always with `FORCE_COLOR` set to anything but `0`, otherwise only on a terminal.
 */
export function shouldUseColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0';
  return stream.isTTY === true;
}
