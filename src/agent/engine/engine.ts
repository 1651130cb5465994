// createEngine: builds an agent engine from its options (and what --index-path holds).
import { openIndex as openNativeIndex } from "../../index/addon";
import type { AnnIndex, GraphRepair, IndexOptions, SimdMode } from "../../index/types";
import { AgentEngine } from "./agent-engine";
import { invalidArgument } from "./errors";
import { Persistence, type RecoveryReport } from "./persistence";
import { VectorStore } from "./store";
import type { Engine, EngineOptions } from "./types";

export interface EngineDeps {
  /** index factory; defaults to our native addon */
  openIndex?: (options: IndexOptions, simd: SimdMode) => AnnIndex;
  /** failures of background work (auto CreateIndex, periodic save); default: console.error */
  onBackgroundError?: (what: string, err: unknown) => void;
  /** told what start-up recovered from --index-path */
  onRecovered?: (report: RecoveryReport) => void;
  /** told once when the engine stops taking writes (a failed log write or save), and why */
  onWritesStopped?: (reason: string) => void;
  /** told when a CreateIndex, a start or an installed backup found vectors no search reached (where: what held them; stored: vectors held) */
  onGraphRepaired?: (where: string, repair: GraphRepair, stored: number) => void;
}

function checkOptions(o: EngineOptions): void {
  if (!Number.isSafeInteger(o.dimension) || o.dimension < 2) throw invalidArgument(`dimension must be at least 2, got ${o.dimension}`);
  for (const [name, value] of [
    ["createIndexThreshold", o.createIndexThreshold],
    ["checkIndexIntervalMs", o.checkIndexIntervalMs],
    ["saveIntervalMs", o.saveIntervalMs],
    ["indexThreads", o.indexThreads],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) throw invalidArgument(`${name} must be >= 0, got ${value}`);
  }
  const keep = o.keepGenerations ?? 2;
  if (!Number.isSafeInteger(keep) || keep < 1) throw invalidArgument(`keepGenerations must be at least 1, got ${keep}`);
}

/**
 * Opens the agent's index: an empty one in memory, or what --index-path holds (last
 * snapshot plus the write-ahead log replayed on top).
 */
export async function createEngine(options: EngineOptions, deps: EngineDeps = {}): Promise<Engine> {
  checkOptions(options);
  const open = deps.openIndex ?? openNativeIndex;
  const index = open(
    {
      dimensions: options.dimension,
      metric: options.metric,
      quantization: options.quantization,
      connectivity: options.connectivity,
      expansionAdd: options.expansionAdd,
      expansionSearch: options.expansionSearch,
    },
    options.simd,
  );
  const store = new VectorStore(index, options.dimension);
  const persistence = options.indexPath ? await Persistence.open(options, index, store) : null;
  if (persistence) {
    deps.onRecovered?.(persistence.recovery);
    const { relinked, stranded } = persistence.recovery;
    if (relinked > 0 || stranded > 0) deps.onGraphRepaired?.("the snapshot's graph", { relinked, stranded }, store.size);
  }
  // Recovery leaves the id file's bytes and the log's decoded records behind as garbage
  // (as large as the log): collect it once now, so the RSS after a start follows the
  // data instead of waiting for allocation pressure that an idle agent never makes.
  if (persistence) Bun.gc(true);
  const engine = new AgentEngine({
    options,
    index,
    store,
    persistence,
    onBackgroundError: deps.onBackgroundError ?? ((what, err) => console.error(`${what} failed:`, err)),
    onWritesStopped: deps.onWritesStopped,
    onGraphRepaired: deps.onGraphRepaired,
  });
  if (persistence?.mustSave) {
    // a lossy recovery keeps in memory what it read from files it then moves aside
    try {
      await engine.saveIndex();
    } catch (err) {
      await engine.close().catch(() => undefined);
      throw err;
    }
  }
  return engine;
}
