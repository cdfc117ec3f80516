/** Where a piece of syntax is: the file, 1-based line and column, 0-based offset and length in UTF-16 units. */
export interface Span {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly offset: number;
  readonly length: number;
}

/**
 * One input file's text with a line index, so offsets turn into lines and columns (and
 * back into the source line for a code frame) without rescanning.
 */
export class SourceText {
  /** The path the file was given as (used in diagnostics and generated headers). */
  readonly path: string;
  /** The file's text. */
  readonly text: string;
  readonly #lineStarts: number[];

  constructor(path: string, text: string) {
    this.path = path;
    this.text = text;
    const starts = [0];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      }
    }
    this.#lineStarts = starts;
  }

  /** Number of lines. */
  get lineCount(): number {
    return this.#lineStarts.length;
  }

  /** The span of `length` units at `offset` (clamped to the text). */
  span(offset: number, length: number): Span {
    const at = Math.max(0, Math.min(offset, this.text.length));
    const { line, col } = this.position(at);
    return { file: this.path, line, col, offset: at, length: Math.max(0, Math.min(length, this.text.length - at)) };
  }

  /** 1-based line and column of an offset. */
  position(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.#lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.#lineStarts[lo]! + 1 };
  }

  /** The text of 1-based line `line`, without its line break. */
  lineText(line: number): string {
    const start = this.#lineStarts[line - 1];
    if (start === undefined) return '';
    const next = this.#lineStarts[line];
    let end = next === undefined ? this.text.length : next;
    while (end > start && (this.text.charCodeAt(end - 1) === 10 || this.text.charCodeAt(end - 1) === 13)) end--;
    return this.text.slice(start, end);
  }
}

/** A span covering `from` through the end of `to` (both in the same file). */
export function joinSpans(from: Span, to: Span): Span {
  return { ...from, length: Math.max(from.length, to.offset + to.length - from.offset) };
}
