/**
 * Terminal output: whether a stream gets colour, the few ANSI styles diagnostics use, and
 * escaping of control characters so a `.vidl` file (or a file name) cannot drive the terminal.
 */

/**
 * Whether to colour output written to `stream` — decided per stream, so stderr on a terminal
 * is coloured even when stdout is redirected. Never with `NO_COLOR` set to anything non-empty
 * (no-color.org); always with `FORCE_COLOR` set to anything but `0`; never on `TERM=dumb`;
 * otherwise only when the stream is a terminal.
 */
export function shouldUseColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0';
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** The styles diagnostics use. */
export type Style = 'bold' | 'red' | 'yellow' | 'blue' | 'cyan';

const SGR: Record<Style, [open: number, close: number]> = {
  bold: [1, 22],
  red: [31, 39],
  yellow: [33, 39],
  blue: [34, 39],
  cyan: [36, 39],
};

/**
 * Wraps `text` in ANSI SGR codes. Unlike `util.styleText` (which on recent Node versions
 * checks process.stdout, not the stream the text goes to) this always styles: the caller
 * decides per stream with {@link shouldUseColor}.
 */
export function style(styles: Style | readonly Style[], text: string): string {
  const list = typeof styles === 'string' ? [styles] : styles;
  let out = text;
  for (const s of [...list].reverse()) out = `\u001b[${SGR[s][0]}m${out}\u001b[${SGR[s][1]}m`;
  return out;
}

// C0 controls but tab, DEL, C1 controls, and the bidirectional overrides and isolates that
// can make a line display differently from what it contains ("Trojan Source").
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Replaces every control character in `text` (except tab) with a visible escape: `\x1b` for
 * ESC, `\x07` for BEL, `\u{202e}` for a right-to-left override. Applied to every line `vidl`
 * echoes from its input, so a file cannot inject terminal escapes.
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
