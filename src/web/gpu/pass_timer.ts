// GPU time per labelled group of compute passes, from timestamp queries (the `timestamp-query`
// feature): each pass gets a begin and an end timestamp, each submission resolves its queries into
// a readback buffer that is mapped after the queue has run it, and the pass durations add up per
// label. Times are GPU clock: queueing and host work are not in them.
const BYTES_PER_QUERY = 8;

export class PassTimer {
  private readonly device: GPUDevice;
  private readonly querySet: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private readonly maxPasses: number;
  /** labels of the passes recorded into the current encoder, in query-pair order */
  private labels: string[] = [];
  private staged: { buffer: GPUBuffer; labels: string[] } | null = null;
  private readonly free: GPUBuffer[] = [];
  private readonly pending = new Set<Promise<void>>();
  private totals = new Map<string, number>();

  constructor(device: GPUDevice, maxPasses = 256) {
    this.device = device;
    this.maxPasses = maxPasses;
    this.querySet = device.createQuerySet({ label: 'pass times', type: 'timestamp', count: 2 * maxPasses });
    this.resolved = device.createBuffer({
      label: 'pass times (resolved)',
      size: 2 * maxPasses * BYTES_PER_QUERY,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** Timestamp writes for the next pass, counted under `label`; none once the set is full. */
  passWrites(label: string): GPUComputePassTimestampWrites | undefined {
    if (this.labels.length >= this.maxPasses) return undefined;
    const i = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Records the resolve of this encoder's queries; call after its last pass ended. */
  resolve(encoder: GPUCommandEncoder): void {
    if (this.labels.length === 0) return;
    const bytes = 2 * this.labels.length * BYTES_PER_QUERY;
    const buffer =
      this.free.pop() ??
      this.device.createBuffer({
        label: 'pass times (readback)',
        size: 2 * this.maxPasses * BYTES_PER_QUERY,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
    encoder.resolveQuerySet(this.querySet, 0, 2 * this.labels.length, this.resolved, 0);
    encoder.copyBufferToBuffer(this.resolved, 0, buffer, 0, bytes);
    this.staged = { buffer, labels: this.labels };
    this.labels = [];
  }

  /** Starts reading back what resolve() recorded; call right after the submit. */
  afterSubmit(): void {
    if (!this.staged) return;
    const { buffer, labels } = this.staged;
    this.staged = null;
    const bytes = 2 * labels.length * BYTES_PER_QUERY;
    const read = buffer.mapAsync(GPUMapMode.READ, 0, bytes).then(
      () => {
        const t = new BigUint64Array(buffer.getMappedRange(0, bytes));
        labels.forEach((label, i) => {
          const begin = t[2 * i]!;
          const end = t[2 * i + 1]!;
          // A pass the implementation did not time reads 0 0; a clock that went back is dropped.
          if (end >= begin) this.totals.set(label, (this.totals.get(label) ?? 0) + Number(end - begin) / 1e6);
        });
        buffer.unmap();
        this.free.push(buffer);
      },
      () => undefined, // device lost or destroyed: the times are gone with it
    );
    this.pending.add(read);
    void read.then(() => this.pending.delete(read));
  }

  /** Waits for the submitted readbacks, then returns GPU ms per label since the last take(). */
  async take(): Promise<Map<string, number>> {
    await Promise.all([...this.pending]);
    const out = this.totals;
    this.totals = new Map();
    return out;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolved.destroy();
    for (const b of this.free) b.destroy();
  }
}
