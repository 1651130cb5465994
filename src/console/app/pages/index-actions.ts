// Index: the cluster's counts (vald.v1.Index/IndexInfo, live) and the index actions the
// gateway serves: core.v1.Agent CreateIndex, SaveIndex, CreateAndSaveIndex, and
// vald.v1.Flush, which removes every vector and so asks for the word typed first.
import { api, failure, READ_TIMEOUT_MS } from "../api";
import { badge, cards, fill, h, num, panel } from "../dom";
import { errorBox, field, readOnlyNote, runButton, type Page } from "../page";

const ACTION_TIMEOUT_MS = 10 * 60_000;
const FLUSH_WORD = "flush";

export const indexPage: Page = {
  id: "index",
  title: "Index",
  mount(root, ctx) {
    const counts = h("div");
    const out = h("div", { class: "results" });
    const pool = h("input", { type: "number", min: 0, value: 10000 });
    const create = runButton("CreateIndex", out, ctx, async () => (await api.agent.createIndex({ poolSize: Number(pool.value) || 0 }, { timeoutMs: ACTION_TIMEOUT_MS }), "CreateIndex done on every agent"), { write: true });
    const save = runButton("SaveIndex", out, ctx, async () => (await api.agent.saveIndex({}, { timeoutMs: ACTION_TIMEOUT_MS }), "SaveIndex done on every agent"), { write: true, class: "secondary" });
    const both = runButton("CreateAndSaveIndex", out, ctx, async () => (await api.agent.createAndSaveIndex({ poolSize: Number(pool.value) || 0 }, { timeoutMs: ACTION_TIMEOUT_MS }), "CreateAndSaveIndex done on every agent"), { write: true, class: "secondary" });
    const confirm = h("input", { type: "text", placeholder: `type "${FLUSH_WORD}"`, autocomplete: "off", spellcheck: "false" });
    const flush = runButton(
      "Flush",
      out,
      ctx,
      async () => {
        const left = await api.flush.flush({}, { timeoutMs: ACTION_TIMEOUT_MS });
        confirm.value = "";
        flush.disabled = true;
        return `Flush done: ${num(left.stored + left.uncommitted)} vectors left`;
      },
      { write: true, class: "danger" },
    );
    flush.disabled = true;
    confirm.addEventListener("input", () => (flush.disabled = !ctx.access.mayWrite || confirm.value.trim() !== FLUSH_WORD));

    root.replaceChildren(
      panel("Index", counts),
      panel(
        "Actions",
        readOnlyNote(ctx, "CreateIndex, SaveIndex, CreateAndSaveIndex and Flush"),
        h("p", { class: "muted" }, "Inserts are searchable at once; CreateIndex links the uncommitted ones into the graph (the server also does this by itself). SaveIndex writes a snapshot on agents with ", h("code", {}, "--index-path"), "."),
        h("div", { class: "row" }, field("Pool size", pool, "CreateIndex's pool_size")),
        h("div", { class: "actions" }, create, save, both),
        h("div", { class: "danger-zone" }, field("Flush: remove every vector from every agent", confirm, `type "${FLUSH_WORD}" to enable the button`), h("div", { class: "actions" }, flush)),
        out,
      ),
    );

    ctx.every(2000, async () => {
      try {
        const c = await api.index.indexInfo({}, { timeoutMs: READ_TIMEOUT_MS });
        fill(
          counts,
          cards([
            ["Stored", num(c.stored), "committed copies"],
            ["Uncommitted", num(c.uncommitted), "waiting for CreateIndex"],
            ["Indexing", c.indexing ? badge("yes", "info") : "no", "an agent builds now"],
            ["Saving", c.saving ? badge("yes", "info") : "no", "an agent saves now"],
          ]),
        );
      } catch (e) {
        fill(counts, errorBox(e));
        if (failure(e).unauthenticated) ctx.unauthenticated();
      }
    });
  },
};
