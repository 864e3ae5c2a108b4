/** `cka-workbench inspect MODEL.onnx [--json]`: what a model is and which layers it offers. */
import type { Command } from 'commander';
import type { ModelSummary } from '../../common/contract.js';
import type { CliContext } from '../context.js';
import { formatBytes, formatShape, table } from '../output.js';

export function formatModelSummary(s: ModelSummary): string {
  const opsets = s.opsets.map((o) => `${o.domain} ${o.version}`).join(', ');
  const tensors = (list: ModelSummary['inputs']) =>
    list.map((t) => `${t.name}  ${t.dtype}  ${formatShape(t.shape)}`).join('\n          ');
  const head = [
    `model     ${s.fileName}  (${formatBytes(s.sizeBytes)}, sha256 ${s.sha256.slice(0, 12)}…)`,
    `producer  ${[s.producer.name, s.producer.version].filter(Boolean).join(' ') || '(not recorded)'}  ·  IR ${s.irVersion}  ·  opset ${opsets}`,
    `params    ${s.parameters.toLocaleString('en-US')}  ·  ${s.nodeCount} nodes${s.usesExternalData ? '  ·  external data' : ''}`,
    `inputs    ${tensors(s.inputs)}`,
    `outputs   ${tensors(s.outputs)}`,
    '',
    `layers (${s.layers.length})`,
  ];
  const rows = s.layers.map((l, i) => [
    String(i),
    l.name,
    l.op,
    formatShape(l.shape),
    l.tensor + (l.isGraphOutput ? '  (output)' : ''),
  ]);
  return [...head, table(['#', 'name', 'op', 'shape', 'tensor'], rows)].join('\n');
}

export function registerInspect(program: Command, context: CliContext): void {
  program
    .command('inspect')
    .description('show a model: inputs, outputs, opset, producer, parameters and its layers')
    .argument('<model>', 'an ONNX model file')
    .option('--json', 'print JSON instead of a table')
    .action(async (model: string, options: { json?: boolean }) => {
      const summary = await context.api.inspectModel({ path: model });
      context.print(options.json ? JSON.stringify(summary, null, 2) : formatModelSummary(summary));
    });
}
