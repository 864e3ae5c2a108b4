/**
 * The renderer may import only API types, so the few naming helpers that the page's exports and
 * the engine's exports both need exist twice. They must name things identically: a figure saved
 * from the page and the same figure exported by the engine get the same file name and labels.
 */
import { describe, expect, it } from 'vitest';
import {
  csvText as engineCsvText,
  fileStem as engineFileStem,
  modelLetter as engineModelLetter,
} from '../../app/engine/experiments/export/export-result.js';
import { csvText, fileStem } from '../../renderer/src/lib/matrix-export.js';
import { modelLetter } from '../../renderer/src/lib/model-names.js';

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

describe('naming helpers: the page and the engine agree', () => {
  it('file stems (no leading dot, safe characters, 120 at most)', () => {
    for (const text of texts) {
      expect(fileStem(text, 'f'), JSON.stringify(text)).toBe(engineFileStem(text, 'f'));
      expect(fileStem(text, 'f')).toMatch(/^(?!\.)[A-Za-z0-9._-]{1,120}$/);
    }
  });

  it('CSV cells (quoting, formula guard)', () => {
    for (const text of texts) expect(csvText(text), JSON.stringify(text)).toBe(engineCsvText(text));
    expect(csvText('=1+1')).toBe("'=1+1");
    expect(csvText('a,b')).toBe('"a,b"');
  });

  it('model letters, past Z too', () => {
    for (let i = 0; i < 70; i++) expect(modelLetter(i)).toBe(engineModelLetter(i));
    expect([modelLetter(0), modelLetter(25), modelLetter(26), modelLetter(63)]).toEqual(['A', 'Z', 'M27', 'M64']);
  });
});
