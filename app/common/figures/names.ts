/**
 * How figures, exports and views name things: models by letter, counts, and safe file-name stems
 * (measures are named in ../measures.ts).
 */
/** Model 0 is "A", 1 is "B", …; past Z, "M27". */
export function modelLetter(index: number): string {
  return index >= 0 && index < 26 ? String.fromCharCode(65 + index) : `M${index + 1}`;
}

/** The axis title that says which model an axis shows: "model A: resnet18.onnx". */
export function modelTitle(index: number, label: string): string {
  return `model ${modelLetter(index)}: ${label}`;
}

/** 12345 → "12,345", the same in every runtime (toLocaleString depends on the ICU data it ships). */
export function formatCount(n: number): string {
  const [whole, fraction] = String(Math.abs(n)).split('.');
  const grouped = whole!.replace(/\B(?=(\d{3})+$)/g, ',');
  return `${n < 0 ? '-' : ''}${grouped}${fraction === undefined ? '' : `.${fraction}`}`;
}

/**
 * A file name stem from free text: letters, digits, dot, dash and underscore only, never starting
 * with a dot (a hidden file), at most 120 characters.
 */
export function fileStem(text: string, fallback = 'matrix'): string {
  const stem = text
    .replace(/\.onnx\b/gi, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[_.]+|_+$/g, '');
  return stem.slice(0, 120) || fallback;
}
