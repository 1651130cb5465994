// vald.v1.Flush: empty every agent.
import type { ServiceImpl } from "@connectrpc/connect";
import type { Flush } from "../gen/vald/v1/flush_pb";
import { scopeOf } from "./batch";
import type { Gateway } from "./context";
import { noAgents } from "./errors";
import { answering, writeHolders } from "./holders";
import { sumCounts } from "./index-info";

export function flushService(gw: Gateway): ServiceImpl<typeof Flush> {
  return {
    flush: async (req, ctx) => {
      if (gw.agents.list().length === 0) throw noAgents("Flush");
      // Any agent failing fails the flush: a half-flushed cluster must not look flushed.
      // The repair pauses meanwhile: a copy landing after the flush would bring a vector back.
      const release = await gw.locks.acquireAll();
      let s;
      const w = answering((a, o) => a.clients.flush.flush(req, o));
      try {
        s = await writeHolders(gw, "Flush", "", scopeOf(ctx), w.call);
      } finally {
        release();
      }
      gw.tombstones.flushed(w.answered, w.everyone());
      const ok = s?.ok ?? [];
      for (const o of ok) o.agent.setStored(o.value.stored + o.value.uncommitted);
      return sumCounts(ok.map((o) => o.value));
    },
  };
}
