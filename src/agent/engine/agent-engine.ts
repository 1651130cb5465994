// The agent engine: Vald agent-ngt semantics over an HNSW index. A mutation's outcome
// is decided when it is called; it reaches the in-memory store (searchable at once,
// uncommitted vectors by exact scan) when its WAL record is durable, just before it
// resolves. A failed log write or snapshot save stops writes (fail stop) until the
// agent is restarted; reads keep working.
// Graph builds and saves run one at a time on a job chain; while one runs, removals
// of graph nodes are deferred by the store and searches keep being served.
import { unlink } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { Code, ConnectError } from "@connectrpc/connect";
import { join } from "node:path";
import type { AnnIndex, GraphRepair, SearchHits } from "../../index/types";
import { distanceFor, reportedDistance, type DistanceFn } from "./distance";
import { crashPoints, type CrashPoint } from "./crash-points";
import { fullCheckpoint, incrementalCheckpoint, memoryCheckpoint, type EngineCheckpoint } from "./checkpoint";
import { alreadyExists, describeIo, failedPrecondition, internal, invalidArgument, notFound, unavailable, unavailableBecause } from "./errors";
import { tempPathFor } from "./durable-file";
import { DamagedFile, decodeIdFile } from "./id-file";
import { graphProblem } from "./snapshot-files";
import { contiguousRuns } from "./arena";
import { HitCollector } from "./hits";
import { InFlight } from "./inflight";
import { stampOf } from "./clock";
import type { Persistence } from "./persistence";
import { VectorStore } from "./store";
import type {
  Engine,
  EngineOptions,
  Hit,
  IndexCounts,
  SearchParams,
  StoredVector,
  TimestampOperator,
  WriteHealth,
} from "./types";
import { checkId, checkQuery } from "./validate";
import type { WalRecord } from "./wal-record";

export interface EngineParts {
  options: EngineOptions;
  index: AnnIndex;
  store: VectorStore;
  /** absent for an in-memory agent */
  persistence: Persistence | null;
  /** failures of background work (auto CreateIndex, periodic save) */
  onBackgroundError: (what: string, err: unknown) => void;
  /** told once when writes stop: why, in words for the log */
  onWritesStopped?: (reason: string) => void;
  /** told when the graph had vectors no search reached (GraphRepair) */
  onGraphRepaired?: (where: string, repair: GraphRepair, stored: number) => void;
}

/** How much of the staged vectors one step of a CreateIndex adds (see build). */
const BUILD_BATCH_BYTES = 16 << 20;

const MATCH: Record<TimestampOperator, (stored: bigint, wanted: bigint) => boolean> = {
  eq: (s, w) => s === w,
  ne: (s, w) => s !== w,
  ge: (s, w) => s >= w,
  gt: (s, w) => s > w,
  le: (s, w) => s <= w,
  lt: (s, w) => s < w,
};

export class AgentEngine implements Engine {
  readonly options: EngineOptions;
  private readonly index: AnnIndex;
  private readonly store: VectorStore;
  private readonly persistence: Persistence | null;
  private readonly onBackgroundError: EngineParts["onBackgroundError"];
  private readonly onWritesStopped: (reason: string) => void;
  private readonly onGraphRepaired: (where: string, repair: GraphRepair, stored: number) => void;
  private readonly inflight: InFlight;
  private readonly crash: (point: CrashPoint) => void;
  private writesStopped: string | null = null;
  private refusedWrites = 0;
  private readonly distance: DistanceFn;
  private readonly threads: number;
  private jobs: Promise<void> = Promise.resolve();
  private indexing = false;
  /** the native addAsync of the running build (LinearSearch waits for it) */
  private building: Promise<GraphRepair> | null = null;
  /** vectors linked again by the repairs of this process's builds and loads */
  private relinked = 0;
  private saving = false;
  private restoring = false;
  private autoIndexQueued = false;
  private mutatedSinceTick = false;
  private closing: Promise<void> | null = null;
  private readonly timers: ReturnType<typeof setInterval>[] = [];

  constructor(parts: EngineParts) {
    this.options = parts.options;
    this.index = parts.index;
    this.store = parts.store;
    this.persistence = parts.persistence;
    this.onBackgroundError = parts.onBackgroundError;
    this.onWritesStopped = parts.onWritesStopped ?? (() => {});
    this.onGraphRepaired = parts.onGraphRepaired ?? (() => {});
    this.relinked = parts.persistence?.recovery.relinked ?? 0;
    this.inflight = new InFlight(this.store);
    this.crash = crashPoints(this.options.crashAt);
    this.distance = distanceFor(this.options.metric);
    this.threads = this.options.indexThreads > 0 ? this.options.indexThreads : Math.max(1, cpus().length);
    this.startTimers();
    // a replayed WAL may have left more than a threshold's worth staged
    this.maybeAutoIndex();
  }

  get isa(): string {
    return this.index.isa;
  }

  /**
   * Where a write's vector of `length` floats is best decoded to: room in the staging
   * arena when it has this agent's dimension (insert, update and upsert then stage it
   * without copying), else a plain array the write will refuse.
   */
  vectorRoom(length: number): Float32Array {
    return length === this.options.dimension && !this.closing ? this.store.arena.take() : new Float32Array(length);
  }

  // ---- mutations ----------------------------------------------------------------

  /**
   * With skipStrictExistCheck an insert of an existing id replaces its vector (an
   * update without the identical-vector check): the flag tells Vald's agent not to
   * look the id up first, and overwriting is the only outcome that keeps one vector
   * per id.
   */
  async insert(id: string, vector: Float32Array, timestamp: bigint, skipStrictExistCheck: boolean): Promise<void> {
    this.ensureWritable();
    checkId(id);
    const v = this.store.arena.adopt(checkQuery(vector, this.options.dimension));
    if (!skipStrictExistCheck && this.inflight.current(id)) {
      throw alreadyExists(`object ${JSON.stringify(id)} already exists`);
    }
    return this.commit([{ kind: "put", id, timestamp: stampOf(timestamp), vector: v }]);
  }

  async update(id: string, vector: Float32Array, timestamp: bigint, skipStrictExistCheck: boolean): Promise<void> {
    this.ensureWritable();
    checkId(id);
    const v = this.store.arena.adopt(checkQuery(vector, this.options.dimension));
    const current = this.inflight.current(id);
    if (!current) throw notFound(id);
    const was = current.vector();
    if (was && sameVector(was, v)) {
      if (!skipStrictExistCheck) throw alreadyExists(`object ${JSON.stringify(id)} already has this vector`);
      // same vector, forced: only the timestamp can change, the graph need not
      return this.commit([{ kind: "timestamp", id, timestamp: stampOf(timestamp) }]);
    }
    return this.commit([{ kind: "put", id, timestamp: stampOf(timestamp), vector: v }]);
  }

  async upsert(id: string, vector: Float32Array, timestamp: bigint, skipStrictExistCheck: boolean): Promise<void> {
    this.ensureWritable();
    checkId(id);
    return this.inflight.current(id)
      ? this.update(id, vector, timestamp, skipStrictExistCheck)
      : this.insert(id, vector, timestamp, skipStrictExistCheck);
  }

  async remove(id: string): Promise<void> {
    this.ensureWritable();
    checkId(id);
    if (!this.inflight.current(id)) throw notFound(id);
    return this.commit([{ kind: "remove", id }]);
  }

  async removeByTimestamp(conditions: { timestamp: bigint; op: TimestampOperator }[]): Promise<string[]> {
    this.ensureWritable();
    if (conditions.length === 0) throw invalidArgument("at least one timestamp condition is required");
    for (const c of conditions) {
      if (!(c.op in MATCH)) throw invalidArgument(`unknown timestamp operator ${c.op}`);
    }
    const removed: string[] = [];
    for (const [id, timestamp] of this.inflight.timestamps()) {
      if (conditions.every((c) => MATCH[c.op](timestamp, c.timestamp))) removed.push(id);
    }
    if (removed.length > 0) await this.commit(removed.map((id) => ({ kind: "remove", id })));
    return removed;
  }

  /**
   * Like Vald's agent, a timestamp only moves forward unless forced: an older (or
   * equal) one than stored is refused with AlreadyExists ("a newer object exists").
   */
  async updateTimestamp(id: string, timestamp: bigint, force: boolean): Promise<void> {
    this.ensureWritable();
    checkId(id);
    const current = this.inflight.current(id);
    if (!current) throw notFound(id);
    const ts = stampOf(timestamp);
    if (!force && ts <= current.timestamp) {
      throw alreadyExists(`object ${JSON.stringify(id)} already has timestamp ${current.timestamp} >= ${ts}`);
    }
    return this.commit([{ kind: "timestamp", id, timestamp: ts }]);
  }

  async flush(): Promise<void> {
    this.ensureWritable();
    return this.commit([{ kind: "flush" }]);
  }

  /**
   * A copy from another replica: stored with its own timestamp unless this agent holds
   * the id at that timestamp or newer (a copy never overwrites a newer write).
   */
  async putIfNewer(id: string, vector: Float32Array, timestamp: bigint): Promise<boolean> {
    this.ensureWritable();
    checkId(id);
    const v = this.store.arena.adopt(checkQuery(vector, this.options.dimension));
    if (timestamp <= 0n) throw invalidArgument("a copy needs its timestamp");
    // decided against writes still in flight too, in call order like every write
    const current = this.inflight.current(id);
    if (current && current.timestamp >= timestamp) return false;
    await this.commit([{ kind: "put", id, timestamp, vector: v }]);
    return true;
  }

  /** Removes id unless it is held with a newer timestamp (trimming a copy loses no later write). */
  async removeIfNotNewer(id: string, timestamp: bigint): Promise<boolean> {
    this.ensureWritable();
    checkId(id);
    const current = this.inflight.current(id);
    if (!current || current.timestamp > timestamp) return false;
    await this.commit([{ kind: "remove", id }]);
    return true;
  }

  // ---- reads --------------------------------------------------------------------

  /**
   * Uncommitted vectors are scanned first, then the graph is searched, on a native
   * thread when no graph removal is waiting (so JS keeps serving meanwhile). Hits
   * whose vector was removed or replaced in between are dropped at the end.
   */
  async search(query: Float32Array, params: SearchParams): Promise<Hit[]> {
    this.ensureOpen();
    const q = this.checkQuery(query, params);
    const collector = new HitCollector(params.radius);
    this.collectPending(collector, q);
    const indexed = this.index.size();
    if (indexed > 0) {
      // over-fetch by the nodes that are still in the graph but no longer live
      const k = Math.min(indexed, params.num + this.store.staleInGraph);
      const ef = params.expansion > 0 ? params.expansion : undefined;
      let hits: SearchHits;
      if (this.store.canPin) {
        this.store.pin();
        try {
          hits = await this.index.searchAsync(q, k, ef);
        } finally {
          this.store.unpin();
        }
      } else {
        hits = this.index.search(q, k, ef);
      }
      this.collectGraphHits(collector, hits);
    }
    return collector.top(params.num, this.isLive);
  }

  async linearSearch(query: Float32Array, params: SearchParams): Promise<Hit[]> {
    this.ensureOpen();
    const q = this.checkQuery(query, params);
    // The native index makes a scan beside adds safe (it only sees fully added vectors),
    // but such a scan answers from a half-built index; LinearSearch, Vald's exact
    // answer, waits for the running build instead.
    while (this.building) await this.building.catch(() => undefined);
    const collector = new HitCollector(params.radius);
    this.collectPending(collector, q);
    const indexed = this.index.size();
    if (indexed > 0) {
      this.collectGraphHits(collector, this.index.exactSearch(q, Math.min(indexed, params.num + this.store.staleInGraph)));
    }
    return collector.top(params.num, this.isLive);
  }

  get(id: string): StoredVector {
    this.ensureOpen();
    checkId(id);
    const entry = this.store.entries.get(id);
    const vector = entry && this.store.vectorOf(entry);
    if (!entry || !vector) throw notFound(id);
    return { id, vector, timestamp: entry.timestamp };
  }

  exists(id: string): boolean {
    this.ensureOpen();
    return this.store.entries.has(id);
  }

  *list(): Iterable<StoredVector> {
    this.ensureOpen();
    for (const [id, entry] of this.store.entries) {
      const vector = this.store.vectorOf(entry);
      if (vector) yield { id, vector, timestamp: entry.timestamp };
    }
  }

  /** every stored id with its timestamp, without touching vectors (the map is live: entries may come and go meanwhile) */
  *timestamps(): Iterable<[string, bigint]> {
    this.ensureOpen();
    for (const [id, entry] of this.store.entries) yield [id, entry.timestamp];
  }

  // counts and memoryUsage stay readable while closing: metrics scrapes and health
  // probes may still ask, and the answer is harmless
  counts(): IndexCounts {
    return {
      stored: this.store.size,
      uncommitted: this.store.uncommitted,
      indexing: this.indexing,
      saving: this.saving,
    };
  }

  writeHealth(): WriteHealth {
    return { failed: this.writesStopped, refused: this.refusedWrites };
  }

  memoryUsage(): number {
    return this.index.memoryUsage() + this.store.uncommitted * this.options.dimension * 4;
  }

  graphRepairs(): { relinked: number; stranded: number } {
    return { relinked: this.relinked, stranded: this.index.stranded() };
  }

  // ---- index lifecycle ----------------------------------------------------------

  /**
   * Builds the graph for everything staged, on `indexThreads` native threads.
   * poolSize (Vald's NGT pool hint) has no HNSW counterpart and is ignored. With
   * nothing uncommitted this is a no-op; Vald answers FailedPrecondition there, which
   * the handler can derive from counts() beforehand.
   */
  async createIndex(_poolSize: number): Promise<void> {
    this.ensureOpen();
    return this.enqueue(() => this.build());
  }

  async saveIndex(): Promise<void> {
    this.ensureOpen();
    if (!this.persistence) return;
    this.ensureWritable();
    return this.enqueue(() => this.save(false));
  }

  // ---- backup and restore -------------------------------------------------------

  /**
   * A consistent point for a backup (checkpoint.ts): full = the newest snapshot, saved
   * now when anything changed since; incremental = the log since sinceWalSeq.
   */
  async checkpoint(opts: { sinceWalSeq?: number; history?: string }): Promise<EngineCheckpoint> {
    this.ensureWritable();
    const p = this.persistence;
    const since = opts.sinceWalSeq;
    if (since !== undefined && !p) {
      throw failedPrecondition(`agent ${this.options.name} keeps no write-ahead log (it runs without --index-path): an incremental backup needs one; take a full backup`);
    }
    let out: EngineCheckpoint | undefined;
    await this.enqueue(async () => {
      if (p && since !== undefined) {
        out = await incrementalCheckpoint(p, this.options, since, opts.history ?? "");
      } else if (p) {
        if (p.dirty || p.newest.generation === 0) await this.save(false);
        out = await fullCheckpoint(p);
      } else {
        const captured = this.inflight.capture();
        out = await memoryCheckpoint(this.options, captured, async (path) => {
          this.store.beginExclusive();
          try {
            await this.index.saveAsync(path);
          } finally {
            this.store.idle();
          }
        });
      }
    });
    return out!;
  }

  keptLogFrom(): number | null {
    return this.persistence?.keptLogFrom ?? null;
  }

  /** Where a file for adopt() is written first: inside --index-path, so it is moved in place without a copy. */
  stagingPath(name: string): string {
    return tempPathFor(join(this.options.indexPath ?? tmpdir(), name));
  }

  /**
   * Installs a snapshot (its graph at graphTemp, from stagingPath; its ids file's bytes)
   * into this agent, which must hold nothing: verified against the agent's shape and the
   * ids file's record of the graph, committed as the newest generation, then loaded.
   * Writes are refused meanwhile. graphTemp is consumed either way.
   */
  async adopt(graphTemp: string, idsFile: Uint8Array): Promise<{ generation: number; stored: number }> {
    this.ensureWritable();
    if (this.restoring) throw failedPrecondition(`agent ${this.options.name} is already restoring a backup`);
    this.restoring = true;
    let generation = 0;
    try {
      await this.enqueue(async () => {
        await this.inflight.drained();
        if (this.store.size > 0) {
          throw failedPrecondition(`agent ${this.options.name} holds ${this.store.size} vectors: a snapshot is installed only into an empty agent`);
        }
        let ids: ReturnType<typeof decodeIdFile>;
        try {
          ids = decodeIdFile(idsFile);
        } catch (err) {
          if (err instanceof DamagedFile) throw new ConnectError(`the snapshot's ids file is damaged: ${err.message}`, Code.DataLoss);
          throw err;
        }
        const m = ids.manifest;
        const o = this.options;
        if (m.dimension !== o.dimension || m.metric !== o.metric || m.quantization !== o.quantization) {
          throw failedPrecondition(
            `the snapshot holds ${m.dimension}-dimensional ${m.metric}/${m.quantization} vectors but agent ${o.name} runs with ${o.dimension}/${o.metric}/${o.quantization}`,
          );
        }
        const problem = await graphProblem(graphTemp, ids.manifest);
        if (problem) throw new ConnectError(`the snapshot's graph file does not match its ids file: ${problem}`, Code.DataLoss);
        const p = this.persistence;
        const graphPath = p ? (await p.adopt(graphTemp, idsFile)).graphPath : graphTemp;
        // not while a native search reads the graph; then clear, load and restore in one tick
        while (this.store.pinned) await new Promise((r) => setTimeout(r, 1));
        this.store.clear();
        const repair = this.index.load(graphPath);
        this.store.restore(ids.columns);
        this.reportRepair(repair, "the installed backup's graph");
        generation = p ? p.newest.generation : ids.manifest.generation;
      });
    } finally {
      this.restoring = false;
      // moved in place when a persistent agent adopted it; removed in every other case
      await unlink(graphTemp).catch(() => {});
    }
    this.maybeAutoIndex();
    return { generation, stored: this.store.size };
  }

  /** Applies logged outcomes as they were (restore of an incremental backup), durably like any write. */
  async applyLog(records: WalRecord[]): Promise<void> {
    this.ensureWritable();
    for (const r of records) {
      if (r.kind === "flush") continue;
      checkId(r.id);
      if (r.kind === "put") checkQuery(r.vector, this.options.dimension);
    }
    if (records.length > 0) await this.commit(records);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      await this.jobs;
      if (!this.persistence) return;
      // in-flight writes settle (durable or refused) before the log closes
      await this.inflight.drained();
      try {
        // nothing changed since the last snapshot: the files on disk are already current
        await this.save(true);
      } finally {
        // a failed save still leaves every acknowledged write in the WAL
        await this.persistence.close();
      }
    })();
    return this.closing;
  }

  // ---- internals ----------------------------------------------------------------

  private ensureOpen(): void {
    if (this.closing) throw unavailable(this.options.name);
  }

  private ensureWritable(): void {
    this.ensureOpen();
    if (this.restoring) throw unavailableBecause(`agent ${this.options.name} is installing a backup; writes resume when it is done`);
    if (!this.writesStopped) return;
    this.refusedWrites++;
    throw unavailableBecause(
      `agent ${this.options.name} refuses writes because ${this.writesStopped}; reads still work. ` +
        `Fix the disk under --index-path and restart the agent: it loads its snapshot and log and loses nothing it acknowledged`,
    );
  }

  /** Fail stop: from now on every write is refused, until an operator restarts the agent. */
  private stopWrites(reason: string): void {
    if (this.writesStopped) return;
    this.writesStopped = reason;
    this.onWritesStopped(reason);
  }

  private checkQuery(query: Float32Array, params: SearchParams): Float32Array {
    if (!Number.isInteger(params.num) || params.num < 1) throw invalidArgument(`num must be at least 1, got ${params.num}`);
    // not copied: a query is only read until the search settles
    return checkQuery(query, this.options.dimension);
  }

  private readonly isLive = (id: string, key: number): boolean => this.store.idOfKey(key) === id;

  private collectGraphHits(collector: HitCollector, hits: SearchHits): void {
    const metric = this.options.metric;
    for (let i = 0; i < hits.count; i++) {
      const key = hits.keys[i]!;
      const id = this.store.idOfKey(key);
      if (id !== undefined) collector.offer(id, key, reportedDistance(metric, hits.distances[i]!));
    }
  }

  private collectPending(collector: HitCollector, query: Float32Array): void {
    const metric = this.options.metric;
    this.store.forEachPending((id, key, vector) => {
      collector.offer(id, key, reportedDistance(metric, this.distance(query, vector)));
    });
  }

  /**
   * Makes mutations durable, then applies them; resolves once both happened. Without
   * --index-path there is nothing to wait for and they apply at once.
   */
  private commit(records: WalRecord[]): Promise<void> {
    this.mutatedSinceTick = true;
    if (!this.persistence) {
      for (const r of records) this.store.apply(r);
      this.maybeAutoIndex();
      return Promise.resolve();
    }
    const { op, done } = this.inflight.plan(records);
    this.persistence.append(records).then(
      () => {
        if (this.inflight.settle(op)) this.maybeAutoIndex();
      },
      (err: unknown) => {
        const why = describeIo(err);
        this.stopWrites(`its write-ahead log failed: ${why}`);
        this.inflight.fail(
          () =>
            unavailableBecause(
              `write not applied: the write-ahead log under --index-path failed (${why}); agent ${this.options.name} now refuses writes ` +
                `(reads still work) until it is restarted on a working disk`,
              err,
            ),
        );
      },
    );
    return done;
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.jobs.then(job);
    this.jobs = run.catch(() => {});
    return run;
  }

  private maybeAutoIndex(): void {
    const threshold = this.options.createIndexThreshold;
    if (threshold <= 0 || this.autoIndexQueued || this.store.stagedCount < threshold) return;
    this.autoIndexQueued = true;
    // off the insert's own call path: the caller only waits for its WAL record
    setTimeout(() => this.background("auto CreateIndex", () => this.build()), 0);
  }

  private background(what: string, job: () => Promise<void>): void {
    if (this.closing) return;
    this.enqueue(job).catch((err) => this.onBackgroundError(what, err));
  }

  private startTimers(): void {
    const { checkIndexIntervalMs, saveIntervalMs } = this.options;
    if (checkIndexIntervalMs > 0) {
      const t = setInterval(() => {
        // only when writes went quiet for a whole interval, like Vald's auto-index duration
        const quiet = !this.mutatedSinceTick;
        this.mutatedSinceTick = false;
        if (quiet && this.store.stagedCount > 0 && !this.indexing) this.background("periodic CreateIndex", () => this.build());
      }, checkIndexIntervalMs);
      t.unref();
      this.timers.push(t);
    }
    if (this.persistence && saveIntervalMs > 0) {
      const t = setInterval(() => this.background("periodic SaveIndex", () => this.save(true)), saveIntervalMs);
      t.unref();
      this.timers.push(t);
    }
  }

  /**
   * Job body of CreateIndex: add what is staged to the graph. It goes in arena-sized
   * batches (contiguousRuns), each committed before the next starts, so the staged
   * vectors' memory is handed back while the graph grows instead of both being held
   * to the end; inserts arriving meanwhile wait for the next CreateIndex.
   */
  private async build(): Promise<void> {
    this.autoIndexQueued = false;
    // a clear deferred behind native searches would wipe this batch once it lands
    while (this.store.clearPending) await this.store.cleared();
    const dim = this.options.dimension;
    const perBatch = Math.max(1, Math.floor(BUILD_BATCH_BYTES / 4 / dim));
    let left = this.store.stagedCount;
    let repaired = true;
    for (let first = true; left > 0; first = false) {
      const step = await this.buildStep(Math.min(left, perBatch), first, left);
      if (step.taken === 0) break;
      left -= step.taken;
      repaired = step.repaired;
      // nothing staged is left: the arena's current chunk need not outlive the build
      if (this.store.uncommitted === 0) this.store.arena.release();
      // The batch's arena chunks are garbage now. Collect them while the build goes on,
      // not whenever allocation pressure would, so the RSS a user sees follows the data
      // instead of holding graph and staged copy at once (a full collection, tens of ms
      // per 16 MiB step of a build that takes seconds). The step ran in its own frame,
      // so nothing on this one still points at the batch.
      Bun.gc(true);
    }
    // removals during the build can end it before the step that was to repair the graph
    if (!repaired) this.reportRepair(await this.index.addAsync(new Float64Array(0), new Float32Array(0), 1));
    // inserts that arrived during the build may have crossed the threshold already
    this.maybeAutoIndex();
  }

  private reportRepair(repair: GraphRepair, where = "the graph after CreateIndex"): void {
    this.relinked += repair.relinked;
    if (repair.relinked > 0 || repair.stranded > 0) this.onGraphRepaired(where, repair, this.store.size);
  }

  /**
   * One step of a build: adds up to `limit` staged vectors to the graph and commits
   * them; says how many it took and whether it repaired the graph after (the last does).
   */
  private async buildStep(limit: number, first: boolean, left: number): Promise<{ taken: number; repaired: boolean }> {
    // a batch of at least a quarter step may end early, where its arena run ends
    const batch = this.store.takeBatch(limit, Math.ceil(limit / 4));
    if (!batch) return { taken: 0, repaired: false };
    const taken = batch.slots.length;
    if (first) this.crash("create-index:after-take");
    const keys = batch.keys;
    const runs = contiguousRuns(batch.vectors, (v) => v);
    let vectors: Float32Array;
    if (runs.length === 1) {
      vectors = runs[0]!.vectors;
    } else {
      const dim = this.options.dimension;
      vectors = new Float32Array(keys.length * dim);
      batch.vectors.forEach((v, row) => vectors.set(v, row * dim));
    }
    this.indexing = true;
    try {
      // the walk after an add covers the whole graph: once, after the build's last step
      this.building = this.index.addAsync(keys, vectors, this.threads, taken === left);
      this.reportRepair(await this.building);
      if (taken === left) this.crash("create-index:after-add");
    } catch (err) {
      this.store.finishBatch(batch, false);
      throw internal("CreateIndex failed", err);
    } finally {
      this.indexing = false;
      this.building = null;
    }
    this.store.finishBatch(batch, true);
    return { taken, repaired: taken === left };
  }

  /** Job body of SaveIndex. */
  private async save(onlyIfDirty: boolean): Promise<void> {
    const persistence = this.persistence;
    if (!persistence || (onlyIfDirty && !persistence.dirty) || this.writesStopped) return;
    this.saving = true;
    this.store.beginExclusive();
    let graphSaved = false;
    try {
      await persistence.save(this.inflight.capture(), () => {
        graphSaved = true;
        this.store.idle();
      });
    } catch (err) {
      const why = describeIo(err);
      this.stopWrites(`a snapshot save failed: ${why} (the previous snapshot and the log still hold every acknowledged write)`);
      throw unavailableBecause(
        `SaveIndex failed: ${why}; the previous snapshot stays in charge and agent ${this.options.name} refuses writes until it is restarted on a working disk`,
        err,
      );
    } finally {
      if (!graphSaved) this.store.idle();
      this.saving = false;
    }
  }
}

function sameVector(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
