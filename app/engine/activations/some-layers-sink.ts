/**
 * A sink that hands only some layers to another sink, as if only they were extracted: the layers
 * `keep` chooses, renumbered in their order. The others (Grams made in the runner, layers only
 * compared from memory) never reach it.
 */
import type { ActivationSink, ExtractionInfo, LayerBatch } from './types.js';

export class SomeLayersSink implements ActivationSink {
  private index: (number | undefined)[] = [];

  constructor(
    private readonly inner: ActivationSink,
    private readonly keep: (layer: ExtractionInfo['layers'][number]) => boolean,
  ) {}

  async begin(info: ExtractionInfo): Promise<void> {
    const kept = info.layers.filter(this.keep);
    this.index = info.layers.map((l) => (this.keep(l) ? kept.indexOf(l) : undefined));
    await this.inner.begin?.({ ...info, layers: kept });
  }

  async write(batch: LayerBatch): Promise<void> {
    const i = this.index[batch.layer];
    if (i !== undefined) await this.inner.write({ ...batch, layer: i });
  }

  async finish(): Promise<void> {
    await this.inner.finish?.();
  }

  async abort(reason: unknown): Promise<void> {
    await this.inner.abort?.(reason);
  }
}
