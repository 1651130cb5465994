// Cluster: every agent the server knows, with what it holds (vald.v1.Index/IndexDetail),
// what it runs on and how its tunnel is doing (Admin/Agents), and its membership state
// (Admin/Status). Refreshed every two seconds.
import type { AgentInfo, ClusterStatus } from "../../../gen/alvd/cluster/v1/admin_pb";
import { Member_State } from "../../../gen/alvd/cluster/v1/admin_pb";
import type { Info_Index_Count } from "../../../gen/payload/v1/payload_pb";
import { api, failure, READ_TIMEOUT_MS } from "../api";
import { ago, badge, bytes, cards, fill, h, num, panel, span, table, type Child } from "../dom";
import { errorBox, type Page } from "../page";

const STATE: Record<Member_State, [string, "ok" | "warn" | "bad" | "muted"]> = {
  [Member_State.STATE_UNSPECIFIED]: ["unknown", "muted"],
  [Member_State.CONNECTED]: ["connected", "ok"],
  [Member_State.AWAY]: ["away", "warn"],
  [Member_State.LOST]: ["lost", "bad"],
};

/** what the agent is busy with: building its graph, writing a snapshot, or nothing */
function activity(c: Info_Index_Count | undefined): Child {
  if (c === undefined) return "—";
  if (!c.indexing && !c.saving) return h("span", { class: "muted" }, "idle");
  return [c.indexing ? badge("indexing", "info") : null, c.indexing && c.saving ? " " : null, c.saving ? badge("saving", "info") : null];
}

export const clusterPage: Page = {
  id: "cluster",
  title: "Cluster",
  mount(root, ctx) {
    const summary = h("div");
    const agents = h("div");
    const problem = h("div");
    fill(root, problem, summary, panel("Agents", agents));
    ctx.every(2000, async () => {
      const [status, list, detail] = await Promise.allSettled([
        api.admin.status({}, { timeoutMs: READ_TIMEOUT_MS }),
        api.admin.agents({}, { timeoutMs: READ_TIMEOUT_MS }),
        api.index.indexDetail({}, { timeoutMs: READ_TIMEOUT_MS }),
      ]);
      const failed = [status, list, detail].find((r) => r.status === "rejected");
      // no agent connected makes IndexDetail fail; membership still shows who is missing
      const hard = status.status === "rejected" ? status.reason : list.status === "rejected" ? list.reason : undefined;
      fill(problem, hard !== undefined ? errorBox(hard) : null);
      if (failed && failure(failed.reason).unauthenticated) return ctx.unauthenticated();
      if (status.status === "rejected") return;
      const counts = detail.status === "fulfilled" ? detail.value.counts : {};
      const infos = list.status === "fulfilled" ? list.value.agents : [];
      const now = Number(status.value.server?.nowMs ?? BigInt(Date.now()));
      render(status.value, infos, counts, now);
    });

    function render(s: ClusterStatus, infos: AgentInfo[], counts: Record<string, Info_Index_Count>, now: number): void {
      const byName = new Map(infos.map((a) => [a.name, a]));
      const names = [...new Set([...s.members.map((m) => m.name), ...infos.map((a) => a.name)])].sort();
      const connected = s.members.filter((m) => m.state === Member_State.CONNECTED).length;
      const copies = Object.values(counts).reduce((n, c) => n + c.stored + c.uncommitted, 0);
      const uncommitted = Object.values(counts).reduce((n, c) => n + c.uncommitted, 0);
      const server = s.server;
      fill(
        summary,
        cards([
          ["Agents", `${connected} / ${s.members.length}`, "connected / known"],
          ["Vectors", num(copies), "copies held, all agents"],
          ["Uncommitted", num(uncommitted), "waiting for CreateIndex"],
          ["Replicas", num(s.targetReplicas), "copies per id aimed for"],
          ["Under-replicated", h("a", { href: "#/repair" }, num(s.underreplicatedIds)), s.repairing ? "repair running" : "ids below the count"],
          ["Server", server ? `up ${span(now - Number(server.startedMs))}` : "—", server ? `alvd ${server.version} (${server.commit})` : undefined],
        ]),
      );
      const rows: Child[][] = names.map((name) => {
        const m = s.members.find((x) => x.name === name);
        const a = byName.get(name);
        const c = counts[name];
        const [state, tone] = STATE[m?.state ?? Member_State.CONNECTED];
        const stateCell = [badge(state, tone), a?.draining || m?.draining ? [" ", badge("draining", "warn")] : null];
        if (a === undefined) {
          return [h("strong", {}, name), "—", stateCell, "—", "—", "—", "—", "—", "—", m ? `last seen ${ago(now - Number(m.lastSeenMs))}` : "—"];
        }
        const heartbeat = a.embedded ? h("span", { class: "muted" }, "in-process") : [ago(now - Number(a.lastHeardMs)), a.rttMs > 0 ? h("div", { class: "muted" }, `${a.rttMs.toFixed(1)} ms round trip`) : null];
        return [
          h("strong", {}, name),
          h("code", {}, a.address),
          stateCell,
          c ? num(c.stored) : num(a.stored),
          c ? num(c.uncommitted) : "—",
          activity(c),
          a.error ? h("span", { class: "bad-text", title: a.error }, "no answer") : [`${bytes(a.indexMemoryBytes)} index`, h("div", { class: "muted" }, `${bytes(a.rssBytes)} RSS`)],
          a.error ? "—" : `${a.isa} (${a.simd})`,
          a.error || a.startedMs === 0n ? "—" : span(now - Number(a.startedMs)),
          heartbeat,
        ];
      });
      fill(
        agents,
        table(["Name", "Address", "State", "Stored", "Uncommitted", "Activity", "Memory", "SIMD", "Uptime", "Heartbeat"], rows, {
          empty: "No agent has connected yet. Start one with: alvd agent --server <this host>:8000",
          class: "agents",
          cards: true,
        }),
      );
    }
  },
};
