// Which calls a read-only key may make. Everything not listed needs a read-write key,
// so a method added later is protected until someone decides it is a read.
// alvd.cluster.v1.Backup and Snapshot are absent on purpose: a backup saves the index
// and pins the log (a write to the agents' disks), and a restore writes every vector.
const READS: Record<string, readonly string[]> = {
  "vald.v1.Search": [
    "Search",
    "SearchByID",
    "StreamSearch",
    "StreamSearchByID",
    "MultiSearch",
    "MultiSearchByID",
    "LinearSearch",
    "LinearSearchByID",
    "StreamLinearSearch",
    "StreamLinearSearchByID",
    "MultiLinearSearch",
    "MultiLinearSearchByID",
  ],
  "vald.v1.Object": ["Exists", "GetObject", "StreamGetObject", "StreamListObject", "GetTimestamp"],
  "vald.v1.Index": ["IndexInfo", "IndexDetail", "IndexStatistics", "IndexStatisticsDetail", "IndexProperty"],
  "vald.v1.Filter": ["SearchObject", "MultiSearchObject", "StreamSearchObject"],
  // the older agent API vald-client-node 1.7 calls for index info
  "core.v1.Agent": ["IndexInfo", "GetTimestamp"],
  // ours: the cluster's state, and an agent's listing of what it holds
  "alvd.cluster.v1.Admin": ["Status", "Agents", "Rates", "Access"],
  "alvd.cluster.v1.Replica": ["List", "Fetch", "State"],
};

const READ_PATHS = new Set(Object.entries(READS).flatMap(([service, methods]) => methods.map((m) => `/${service}/${m}`)));

/** true for a request path ("/vald.v1.Search/Search") a read-only key may call */
export function isReadOnlyCall(path: string): boolean {
  return READ_PATHS.has(path);
}
