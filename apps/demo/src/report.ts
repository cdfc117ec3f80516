/**
 * How a worker-CPU process tells the main thread what it saw: lines of text in a
 * SharedArrayBuffer (its length in the first word), read once the process exited. A worker's
 * own console.log would reach stdout later than the main thread's lines, out of order.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A buffer for one process's report. */
export function reportBuffer(bytes = 4096): SharedArrayBuffer {
  return new SharedArrayBuffer(4 + bytes);
}

/** Writes `lines` (a worker calls this once, before it returns). */
export function writeReport(buffer: SharedArrayBuffer, lines: readonly string[]): void {
  const bytes = encoder.encode(JSON.stringify(lines));
  if (bytes.length > buffer.byteLength - 4) throw new RangeError(`a report of ${bytes.length} bytes does not fit`);
  new Uint8Array(buffer, 4).set(bytes);
  Atomics.store(new Int32Array(buffer, 0, 1), 0, bytes.length);
}

/** The lines a worker wrote (none if it wrote nothing). */
export function readReport(buffer: SharedArrayBuffer): string[] {
  const n = Atomics.load(new Int32Array(buffer, 0, 1), 0);
  // A copy: TextDecoder does not take a view of shared memory.
  return n === 0 ? [] : (JSON.parse(decoder.decode(new Uint8Array(buffer, 4, n).slice())) as string[]);
}
