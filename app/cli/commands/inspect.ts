/**
 * `cka-workbench inspect MODEL.onnx [--calibrate] [--json]`: what a model is and which layers it
 * offers; with --calibrate, each layer's real per-example shape and how it splits into examples,
 * from two small batches of made-up inputs.
 */
import type { Command } from 'commander';
import type { CalibratedLayer, ModelCalibration, ModelSummary } from '../../common/contract.js';
import type { CliContext } from '../context.js';
import { formatCount } from '../../common/figures/names.js';
import { formatBytes, formatShape, table } from '../output.js';

/** How a calibrated layer splits, in a few words. */
export function splitText(c: CalibratedLayer | undefined): string {
  if (!c) return '';
  if (c.split === 'grouped') return `examples × ${c.groups} (regrouped)`;
  if (c.split === 'none') return 'not per example (below)';
  return c.batchAxis !== undefined ? `examples on axis ${c.batchAxis}` : '';
}

export function formatModelSummary(s: ModelSummary, calibration?: ModelCalibration): string {
  const opsets = s.opsets.map((o) => `${o.domain} ${o.version}`).join(', ');
  const tensors = (list: ModelSummary['inputs']) =>
    list.map((t) => `${t.name}  ${t.dtype}  ${formatShape(t.shape)}`).join('\n          ');
  // With side files the model's sha256 covers them; the file's own is what `sha256sum` prints.
  const digest =
    s.sha256 === s.fileSha256
      ? `sha256 ${s.sha256.slice(0, 12)}…`
      : `sha256 ${s.sha256.slice(0, 12)}… with its weights files, the file's ${s.fileSha256.slice(0, 12)}…`;
  const head = [
    `model     ${s.fileName}  (${formatBytes(s.sizeBytes)}, ${digest})`,
    `producer  ${[s.producer.name, s.producer.version].filter(Boolean).join(' ') || '(not recorded)'}  ·  IR ${s.irVersion}  ·  opset ${opsets}`,
    `params    ${formatCount(s.parameters)}  ·  ${s.nodeCount} nodes${s.usesExternalData ? '  ·  external data' : ''}`,
    `inputs    ${tensors(s.inputs)}`,
    `outputs   ${tensors(s.outputs)}`,
    '',
    `layers (${s.layers.length})`,
  ];
  if (calibration) {
    const marks = new Map(calibration.layers.map((c) => [c.tensor, c]));
    const rows = s.layers.map((l, i) => {
      const c = marks.get(l.tensor);
      return [
        String(i),
        l.name,
        l.op,
        c?.shape ? `[example, ${c.shape.join(', ')}]` : formatShape(l.shape),
        splitText(c),
        l.tensor + (l.isGraphOutput ? '  (output)' : ''),
      ];
    });
    const notes = [`calibrated on ${calibration.inputs || 'nothing'}`, ...calibration.notes].map((n) => `note: ${n}`);
    const none = calibration.layers.filter((c) => c.split === 'none');
    const reasons = none.map((c) => `  ${s.layers.find((l) => l.tensor === c.tensor)?.name ?? c.tensor}: ${c.reason}`);
    return [
      ...head,
      table(['#', 'name', 'op', 'shape', 'split', 'tensor'], rows),
      '',
      ...notes,
      ...(none.length > 0 ? ['not per example:', ...reasons] : []),
    ].join('\n');
  }
  const rows = s.layers.map((l, i) => [
    String(i),
    l.name,
    l.op,
    formatShape(l.shape),
    l.tensor +
      (l.isGraphOutput ? '  (output)' : '') +
      (l.split === 'none' ? `  (not per example: ${l.splitReason})` : ''),
  ]);
  return [...head, table(['#', 'name', 'op', 'shape', 'tensor'], rows)].join('\n');
}

export function registerInspect(program: Command, context: CliContext): void {
  program
    .command('inspect')
    .description('show a model: inputs, outputs, opset, producer, parameters and its layers')
    .argument('<model>', 'an ONNX model file')
    .option('--calibrate', "run two small batches of made-up inputs: each layer's real shape and split")
    .option('--json', 'print JSON instead of a table')
    .action(async (model: string, options: { json?: boolean; calibrate?: boolean }) => {
      const api = await context.api();
      const summary = await api.inspectModel({ path: model });
      const calibration = options.calibrate ? await api.calibrateModel({ path: model }) : undefined;
      context.print(
        options.json
          ? JSON.stringify(calibration ? { ...summary, calibration } : summary, null, 2)
          : formatModelSummary(summary, calibration),
      );
    });
}
