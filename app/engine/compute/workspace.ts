/**
 * Per-thread scratch buffers, reused across tasks: on these machines touching fresh memory costs
 * ~0.7–3 ms per MiB, more than the arithmetic done in it, so a worker keeps its activation, centred
 * and Gram-block buffers and hands out views of the needed length. onnxruntime cannot use shared
 * memory, so these are plain ArrayBuffers.
 */
type FloatArrayCtor = Float32ArrayConstructor | Float64ArrayConstructor;

export class Workspace {
  private readonly buffers = new Map<string, Float32Array | Float64Array>();

  /** A view of `length` elements of the buffer named `name` (grown, never shrunk). */
  get<C extends FloatArrayCtor>(name: string, ctor: C, length: number): InstanceType<C> {
    const key = `${name}:${ctor.name}`;
    let buffer = this.buffers.get(key);
    if (!buffer || buffer.length < length) {
      this.buffers.delete(key); // let the old one go before allocating the larger one
      buffer = new ctor(Math.max(length, 1));
      this.buffers.set(key, buffer);
    }
    return buffer.subarray(0, length) as InstanceType<C>;
  }

  /** Drops buffers larger than `keepBytes` (after a large job, so an idle worker does not hold GiBs). */
  trim(keepBytes: number): void {
    for (const [key, buffer] of this.buffers) if (buffer.byteLength > keepBytes) this.buffers.delete(key);
  }
}
