/**
 * How figures, exports and views name things: models by letter, measures for people and for file
 * names, counts, and safe file-name stems.
 */
import type { MeasureInfo } from '../contract.js';

/** Model 0 is "A", 1 is "B", …; past Z, "M27". */
export function modelLetter(index: number): string {
  return index >= 0 && index < 26 ? String.fromCharCode(65 + index) : `M${index + 1}`;
}

/** The axis title that says which model an axis shows: "model A: resnet18.onnx". */
export function modelTitle(index: number, label: string): string {
  return `model ${modelLetter(index)}: ${label}`;
}

/** A measure for people: "linear CKA", "RBF CKA (threshold 0.4)". */
export function describeMeasure(measure: MeasureInfo): string {
  switch (measure.name) {
    case 'linear':
      return 'linear CKA';
    case 'debiased':
      return 'debiased CKA';
    case 'rbf':
      return measure.params.threshold === undefined ? 'RBF CKA' : `RBF CKA (threshold ${measure.params.threshold})`;
    case 'minibatch':
      return measure.params.batchSize === undefined
        ? 'minibatch CKA'
        : `minibatch CKA (batch ${measure.params.batchSize})`;
  }
}

/**
 * A measure with the parameters that change its values, "rbf(threshold=0.4)": tells apart two
 * measures of one result (keys, file names). How many batches a minibatch run made, or how many
 * examples it dropped, describe the run rather than the measure, so they are left out.
 */
export function measureKey(measure: MeasureInfo): string {
  const params = Object.entries(measure.params)
    .filter(([k]) => k !== 'batches' && k !== 'droppedExamples')
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return params ? `${measure.name}(${params})` : measure.name;
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
