// Repair: the self-healing's state from Admin/Status: how many ids are below or above
// their replica count, what the repair, rebalance and drains have done (with rates
// between refreshes), and some of the under-replicated ids, each a click from a search.
import type { ClusterStatus } from "../../../gen/alvd/cluster/v1/admin_pb";
import { api, failure, READ_TIMEOUT_MS } from "../api";
import { ago, badge, cards, fill, h, num, panel, rate, table } from "../dom";
import { errorBox, type Page } from "../page";

export const repairPage: Page = {
  id: "repair",
  title: "Repair",
  mount(root, ctx) {
    const problem = h("div");
    const state = h("div");
    const work = h("div");
    const ids = h("div");
    fill(root, problem, panel("Replication", state), panel("Repair, rebalance and drains", work), panel("Under-replicated ids", ids));
    let prev: { at: number; s: ClusterStatus } | undefined;

    ctx.every(2000, async () => {
      let s: ClusterStatus;
      try {
        s = await api.admin.status({}, { timeoutMs: READ_TIMEOUT_MS });
      } catch (e) {
        fill(problem, errorBox(e));
        if (failure(e).unauthenticated) ctx.unauthenticated();
        return;
      }
      fill(problem);
      const now = Number(s.server?.nowMs ?? BigInt(Date.now()));
      const perSecond = (pick: (x: ClusterStatus) => bigint) => (prev && now > prev.at ? (Number(pick(s) - pick(prev.s)) * 1000) / (now - prev.at) : 0);
      const draining = s.members.filter((m) => m.draining).map((m) => m.name);
      fill(
        state,
        cards([
          ["Under-replicated ids", num(s.underreplicatedIds), `fewer than ${s.targetReplicas} copies`],
          ["Over-replicated ids", num(s.overreplicatedIds), "copies above the count"],
          ["Stale copies", num(s.staleCopies), "behind the newest write"],
          ["Target copies", num(s.targetReplicas), "min(--replicas, agents)"],
          ["Repair", s.repairing ? badge("running", "info") : badge("idle", "ok"), s.leaseHeld ? "this server holds the lease" : "lease held elsewhere or not yet"],
          ["Last full scan", s.lastPassMs > 0n ? ago(now - Number(s.lastPassMs)) : "not yet", `${num(s.passes)} scans so far`],
        ]),
      );
      fill(
        work,
        cards([
          ["Copies repaired", num(s.repairedVectorsTotal), `${rate(perSecond((x) => x.repairedVectorsTotal))}/s now`],
          ["Copies moved", num(s.movedVectorsTotal), `${rate(perSecond((x) => x.movedVectorsTotal))}/s now (rebalance, drains)`],
          ["Copies trimmed", num(s.trimmedCopiesTotal), `${rate(perSecond((x) => x.trimmedCopiesTotal))}/s now`],
          ["Draining", draining.length ? draining.join(", ") : "none", "agents giving their copies away"],
        ]),
      );
      const sample = s.underreplicatedSample;
      fill(
        ids,
        sample.length > 0 && Number(s.underreplicatedIds) > sample.length ? h("p", { class: "muted" }, `${num(sample.length)} of ${num(s.underreplicatedIds)} shown.`) : null,
        table(
          ["Id", "Copies found"],
          sample.map((u) => [h("button", { type: "button", class: "link", title: "get this vector", onclick: () => ctx.go("data", { id: u.id }) }, u.id), `${u.copies} of ${s.targetReplicas}`]),
          { empty: "None: every id has its copies (as of the latest scan)." },
        ),
      );
      prev = { at: now, s };
    });
  },
};
