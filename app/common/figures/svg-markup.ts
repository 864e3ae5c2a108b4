/** Small pieces of SVG markup: escaped text and numbers short enough to read. */

/** Text from model files (layer names, labels) is escaped: it comes from strangers. */
export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Two decimals at most: finer than any screen or printer, and the same text in every runtime. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
