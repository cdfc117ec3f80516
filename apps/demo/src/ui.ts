/** Output helpers shared by the scenes: colour only on a terminal (and never with NO_COLOR). */
import { styleText } from 'node:util';

const color = process.stdout.isTTY && !process.env.NO_COLOR;

export const paint = (style: Parameters<typeof styleText>[0], s: string): string => (color ? styleText(style, s) : s);
export const us = (ns: number): string => `${(ns / 1000).toFixed(1)} µs`;
/** A worker module next to the compiled scenes (workers run the built `.js`). */
export const worker = (name: string): URL => new URL(`./workers/${name}.js`, import.meta.url);

/** The p-th percentile of an ascending array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** A scene heading, so the output reads as chapters. */
export function heading(title: string): void {
  console.log(paint('cyan', `--- ${title}`));
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
