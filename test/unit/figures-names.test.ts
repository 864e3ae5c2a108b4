/** Naming in figures and exports: file stems, CSV cells, model letters, measures, counts. */
import { describe, expect, it } from 'vitest';
import { csvText } from '../../app/common/figures/csv.js';
import { pairStem, seedsStem } from '../../app/common/figures/matrix-figure.js';
import { fileStem, formatCount, modelLetter, modelTitle } from '../../app/common/figures/names.js';
import { measureLabel, measureTitle } from '../../app/common/measures.js';

const texts = [
  'resnet18.onnx-vs-my net/v2.onnx-linear',
  '../../etc/passwd',
  '.hidden',
  '__init__',
  'Ünïcode naïve model.ONNX',
  '=cmd|"/c calc"!A1',
  '+1',
  '-x',
  '@sum',
  'a,b',
  'say "hi"',
  'line\nbreak',
  '\ttab',
  'x'.repeat(300),
  '???',
  '',
];

describe('naming helpers', () => {
  it('file stems (no leading dot, safe characters, 120 at most)', () => {
    for (const text of texts)
      expect(fileStem(text, 'f'), JSON.stringify(text)).toMatch(/^(?!\.)[A-Za-z0-9._-]{1,120}$/);
    expect(fileStem('../../etc/passwd', 'result')).toBe('etc_passwd');
    expect(fileStem('', 'result')).toBe('result');
  });

  it('CSV cells (quoting, formula guard)', () => {
    expect(csvText('=1+1')).toBe("'=1+1");
    expect(csvText('a,b')).toBe('"a,b"');
    expect(csvText('line\nbreak')).toBe('"line\nbreak"');
    expect(csvText('=cmd|"/c calc"!A1')).toBe('"\'=cmd|""/c calc""!A1"');
  });

  it('model letters, past Z too', () => {
    expect([modelLetter(0), modelLetter(25), modelLetter(26), modelLetter(63)]).toEqual(['A', 'Z', 'M27', 'M64']);
    expect(modelTitle(1, 'b.onnx')).toBe('model B: b.onnx');
  });

  it('measures for people and for keys; run-level minibatch details are not part of the key', () => {
    expect(measureTitle({ name: 'rbf', params: { threshold: 0.4 } })).toBe('RBF CKA (threshold 0.4)');
    expect(measureTitle({ name: 'minibatch', params: { batchSize: 64, batches: 3 } })).toBe('minibatch CKA (batch 64)');
    expect(measureLabel({ name: 'linear', params: {} })).toBe('linear');
    expect(measureLabel({ name: 'minibatch', params: { batchSize: 64, batches: 3, droppedExamples: 2 } })).toBe(
      'minibatch(batchSize=64)',
    );
  });

  it('stems of a pair and of a seeds summary, with or without the run name', () => {
    const rbf = { name: 'rbf' as const, params: { threshold: 0.4 } };
    expect(pairStem('a.onnx', 'b.onnx', { name: 'linear', params: {} })).toBe('a-vs-b-linear');
    expect(pairStem('a.onnx', 'b.onnx', rbf, 'my run')).toBe('my_run-a-vs-b-rbf_threshold_0.4');
    expect(seedsStem({ name: 'linear', params: {} }, 'std', 'seeds: 5')).toBe('seeds_5-seeds-std-linear');
  });

  it('groups counts by thousands, the same in every runtime', () => {
    expect([0, 7, 999, 1000, 12345, 1234567, -4500].map(formatCount)).toEqual([
      '0',
      '7',
      '999',
      '1,000',
      '12,345',
      '1,234,567',
      '-4,500',
    ]);
    for (const n of [0, 5, 1000, 60000, 123456789]) expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  });
});
