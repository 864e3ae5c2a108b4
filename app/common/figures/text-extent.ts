/**
 * How much room a line of text takes in the SVG figure, without a font engine. The widths are
 * DejaVu Sans' (Linux's usual sans-serif and wider than Helvetica, Arial, Segoe UI, Roboto or Noto
 * Sans), rounded up: a figure drawn in any of those leaves room rather than cutting text. The
 * layout reserves space with these; the no-clipping test checks with them too.
 */

/** Advance widths in hundredths of an em, for the printable ASCII characters ' ' to '~'. */
const REGULAR =
  '32 41 46 84 64 96 78 28 40 40 50 84 32 37 32 34 64 64 64 64 64 64 64 64 64 64 34 34 84 84 84 54 100 69 69 70 78 ' +
  '64 58 78 76 30 30 66 56 87 75 79 61 79 70 64 62 74 69 99 69 62 69 40 34 40 84 50 50 62 64 55 64 62 36 64 64 28 28 ' +
  '58 28 98 64 62 64 64 42 53 40 64 60 82 60 60 53 64 34 64 84';
const BOLD =
  '35 46 53 84 70 101 88 31 46 46 53 84 38 42 38 37 70 70 70 70 70 70 70 70 70 70 40 40 84 84 84 59 100 78 77 74 84 ' +
  '69 69 83 84 38 38 78 64 100 84 86 74 86 78 73 69 82 78 111 78 73 73 46 37 46 84 50 50 68 72 60 72 68 44 72 72 35 35 ' +
  '67 35 105 72 69 72 72 50 60 48 72 66 93 65 66 59 72 37 72 84';
/** Anything else (accents, CJK, the ellipsis): a full em, more in bold. */
const OTHER = { regular: 1, bold: 1.1 };

const widths = (table: string) => Float64Array.from(table.split(' '), (w) => Number(w) / 100);
const REGULAR_EM = widths(REGULAR);
const BOLD_EM = widths(BOLD);

/** Ascent and descent of a line, as fractions of the font size. */
export const ASCENT = 0.8;
export const DESCENT = 0.25;

/** Estimated width in px of `text` at `fontSize` px. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  const table = bold ? BOLD_EM : REGULAR_EM;
  const other = bold ? OTHER.bold : OTHER.regular;
  let em = 0;
  for (const ch of text) em += table[ch.charCodeAt(0) - 32] ?? other;
  return em * fontSize;
}

/** The widest of `texts`, in px. */
export function widestText(texts: readonly string[], fontSize: number, bold = false): number {
  return texts.reduce((max, text) => Math.max(max, textWidth(text, fontSize, bold)), 0);
}

/**
 * `label` shortened to `maxChars` characters by an ellipsis in its middle, so one long layer name
 * cannot take over the figure while both its start and its end (where layer names differ) stay.
 */
export function shortenLabel(label: string, maxChars: number): string {
  const chars = [...label];
  if (chars.length <= maxChars) return label;
  const keepEnd = Math.ceil((maxChars - 1) / 2);
  const keepStart = maxChars - 1 - keepEnd;
  return `${chars.slice(0, keepStart).join('')}…${chars.slice(chars.length - keepEnd).join('')}`;
}

/**
 * `text` broken into lines no wider than `maxWidth` px: between the parts of a title (" · ")
 * where it can, else at spaces, and inside a word that is wider than a whole line (a long file
 * name) where it must. Never an empty list.
 */
export function wrapText(text: string, maxWidth: number, fontSize: number, bold = false): string[] {
  const fits = (line: string) => textWidth(line, fontSize, bold) <= maxWidth;
  const lines: string[] = [];
  let line = '';
  for (const part of text.split(' · ')) {
    const joined = line === '' ? part : `${line} · ${part}`;
    if (fits(joined)) {
      line = joined;
      continue;
    }
    if (line !== '') lines.push(line);
    const wrapped = wrapWords(part, fits);
    lines.push(...wrapped.slice(0, -1));
    line = wrapped.at(-1)!;
  }
  lines.push(line);
  return lines;
}

function wrapWords(text: string, fits: (line: string) => boolean): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const joined = line === '' ? word : `${line} ${word}`;
    if (fits(joined)) {
      line = joined;
      continue;
    }
    if (line !== '') lines.push(line);
    // A word wider than a line is cut into pieces that fit (at least one character each).
    let rest = [...word];
    while (rest.length > 1 && !fits(rest.join(''))) {
      let cut = 1;
      while (cut < rest.length && fits(rest.slice(0, cut + 1).join(''))) cut++;
      lines.push(rest.slice(0, cut).join(''));
      rest = rest.slice(cut);
    }
    line = rest.join('');
  }
  lines.push(line);
  return lines;
}
