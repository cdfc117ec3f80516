/** The piscina peer's task: echo the 64-byte request (a copy comes back, as structured clone makes it). */
export default function echo(data: Uint8Array): Uint8Array {
  return data;
}
