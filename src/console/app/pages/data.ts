// Data: insert a vector (vald.v1.Insert), get one by id (Object/GetObject), remove one
// (Remove), and list the first stored vectors (Object/StreamListObject).
import { create } from "@bufbuild/protobuf";
import { Insert_ConfigSchema, Remove_ConfigSchema, type Object_Location } from "../../../gen/payload/v1/payload_pb";
import { api, READ_TIMEOUT_MS } from "../api";
import { h, num, panel, table } from "../dom";
import { field, readOnlyNote, runButton, type Page } from "../page";
import { parseVector, randomVector, showVector } from "../vectors";

const WRITE_TIMEOUT_MS = 10_000;
const BROWSE = 20;

// the gateway names every replica's agent, comma-separated
const where = (l: Object_Location) => `stored on ${l.name.split(",").join(", ") || "(unnamed)"}`;

export const dataPage: Page = {
  id: "data",
  title: "Data",
  mount(root, ctx) {
    const insId = h("input", { type: "text", placeholder: "id of the new vector", value: `console-${Date.now().toString(36)}` });
    const insVec = h("textarea", { rows: 3, placeholder: "[0.1, 0.2, …]", spellcheck: "false" });
    const insOut = h("div", { class: "results" });
    const random = h("button", { type: "button", class: "secondary" }, "Random vector");
    random.addEventListener("click", async () => {
      const d = await ctx.dimension();
      insVec.value = d === undefined ? "" : JSON.stringify(randomVector(d));
      if (d === undefined) insVec.placeholder = "no agent reports a dimension yet";
    });
    const insert = runButton(
      "Insert",
      insOut,
      ctx,
      async () => {
        const loc = await api.insert.insert({ vector: { id: insId.value.trim(), vector: parseVector(insVec.value) }, config: create(Insert_ConfigSchema, {}) }, { timeoutMs: WRITE_TIMEOUT_MS });
        getId.value = insId.value.trim();
        return { summary: `inserted ${JSON.stringify(loc.uuid)}`, body: h("p", { class: "muted" }, where(loc)) };
      },
      { write: true },
    );

    const getId = h("input", { type: "text", placeholder: "vector id", value: ctx.params.get("id") ?? "" });
    const getOut = h("div", { class: "results" });
    const get = runButton(
      "Get",
      getOut,
      ctx,
      async () => {
        const id = getId.value.trim();
        const v = await api.object.getObject({ id: { id } }, { timeoutMs: READ_TIMEOUT_MS });
        const at = v.timestamp > 0n ? new Date(Number(v.timestamp / 1_000_000n)).toISOString() : "—";
        return {
          summary: `${JSON.stringify(v.id)}: ${num(v.vector.length)} values, written ${at}`,
          body: [h("pre", { class: "vector" }, showVector(v.vector, 64)), h("button", { type: "button", class: "link", onclick: () => ctx.go("search", { id }) }, "search by this id →")],
        };
      },
      { class: "secondary" },
    );
    const remove = runButton(
      "Remove",
      getOut,
      ctx,
      async () => {
        const loc = await api.remove.remove({ id: { id: getId.value.trim() }, config: create(Remove_ConfigSchema, {}) }, { timeoutMs: WRITE_TIMEOUT_MS });
        return `removed ${JSON.stringify(loc.uuid)} from ${loc.name || "its agents"}`;
      },
      { write: true, class: "danger" },
    );

    const listOut = h("div", { class: "results" });
    const list = runButton(
      `List the first ${BROWSE}`,
      listOut,
      ctx,
      async () => {
        const ac = new AbortController();
        const rows: [string, string][] = [];
        for await (const r of api.object.streamListObject({}, { signal: ac.signal, timeoutMs: READ_TIMEOUT_MS })) {
          if (r.payload.case === "vector") rows.push([r.payload.value.id, showVector(r.payload.value.vector, 4)]);
          if (rows.length >= BROWSE) break;
        }
        ac.abort();
        return {
          summary: `${rows.length} vector${rows.length === 1 ? "" : "s"}`,
          body: table(
            ["Id", "Vector"],
            rows.map(([id, v]) => [h("button", { type: "button", class: "link", onclick: () => ((getId.value = id), get.click()) }, id), h("code", {}, v)]),
            { empty: "nothing stored yet" },
          ),
        };
      },
      { class: "secondary" },
    );

    root.replaceChildren(
      h(
        "div",
        { class: "grid2" },
        panel("Insert a vector", readOnlyNote(ctx, "Insert and Remove"), field("Id", insId), field("Vector", insVec, "JSON array or comma-separated numbers"), h("div", { class: "actions" }, insert, random), insOut),
        panel("Get or remove by id", field("Id", getId), h("div", { class: "actions" }, get, remove), getOut),
      ),
      panel("Browse", h("div", { class: "actions" }, list), listOut),
    );
    if (getId.value) get.click();
  },
};
