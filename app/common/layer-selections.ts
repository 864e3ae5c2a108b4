/** The layer selections every shell offers (`--layers`, the spec's `layers`, the views' pickers). */

/** Named selections: `preset:NAME` → what it chooses. */
export const LAYER_PRESETS: Record<string, string> = {
  blocks: 'post-activation tensors, residual sums, the pooled feature and the logits',
};

/** What a model side compares when no selection is given. */
export const DEFAULT_LAYER_SELECTION = 'preset:blocks';

/** One line describing the selection forms, for help texts. */
export const LAYER_SELECTION_HELP = `all, op:TYPE[,TYPE], tensor or layer names (comma separated), or ${Object.entries(
  LAYER_PRESETS,
)
  .map(([preset, what]) => `preset:${preset} (${what})`)
  .join(', ')}`;
