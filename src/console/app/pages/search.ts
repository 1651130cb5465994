// Search playground: vald.v1.Search by a pasted vector, by a random one, or by the id of
// a stored vector (SearchByID); LinearSearch for exact answers. Clicking a neighbour
// searches by its id.
import { create } from "@bufbuild/protobuf";
import { Search_ConfigSchema, type Search_Response } from "../../../gen/payload/v1/payload_pb";
import { api } from "../api";
import { h, num, panel, table } from "../dom";
import { field, runButton, type Page } from "../page";
import { parseVector, randomVector, showVector } from "../vectors";

type Mode = "vector" | "id" | "random";

export const searchPage: Page = {
  id: "search",
  title: "Search",
  mount(root, ctx) {
    let mode: Mode = ctx.params.has("id") ? "id" : "random";
    const vector = h("textarea", { rows: 3, placeholder: "[0.1, 0.2, …] or 0.1,0.2,…", spellcheck: "false" });
    const id = h("input", { type: "text", placeholder: "vector id", value: ctx.params.get("id") ?? "" });
    const k = h("input", { type: "number", min: 1, max: 10000, value: 10 });
    const epsilon = h("input", { type: "number", step: "0.05", min: 0, value: 0.1 });
    const timeout = h("input", { type: "number", min: 1, value: 3000 });
    const linear = h("input", { type: "checkbox" });
    const used = h("p", { class: "muted" });
    const out = h("div", { class: "results" });
    const modes = h("div", { class: "segmented", role: "tablist" });
    const inputs = h("div");

    const showMode = () => {
      modes.replaceChildren(
        ...(
          [
            ["random", "Random"],
            ["vector", "Paste vector"],
            ["id", "By id"],
          ] as const
        ).map(([m, label]) =>
          h("button", { type: "button", role: "tab", "aria-selected": String(m === mode), class: m === mode ? "on" : "", onclick: () => ((mode = m), showMode()) }, label),
        ),
      );
      inputs.replaceChildren(
        mode === "vector" ? field("Vector", vector, "JSON array, or numbers separated by commas, spaces or lines") : mode === "id" ? field("Id", id, "searches with the stored vector of this id") : h("p", { class: "muted" }, "A new random vector (uniform in [0, 1)) of the index's dimension each time."),
      );
    };
    showMode();

    const search = async () => {
      const config = create(Search_ConfigSchema, {
        num: Number(k.value) || 10,
        epsilon: Number(epsilon.value),
        radius: -1,
        timeout: BigInt(Math.round((Number(timeout.value) || 3000) * 1e6)),
      });
      const opts = { timeoutMs: (Number(timeout.value) || 3000) + 2000 };
      const exact = linear.checked;
      let res: Search_Response;
      let rpc: string;
      if (mode === "id") {
        const want = id.value.trim();
        if (want === "") throw new Error("enter the id of a stored vector");
        rpc = exact ? "LinearSearchByID" : "SearchByID";
        res = await (exact ? api.search.linearSearchByID({ id: want, config }, opts) : api.search.searchByID({ id: want, config }, opts));
        used.textContent = `vald.v1.Search/${rpc} id=${JSON.stringify(want)}`;
      } else {
        let v: number[];
        if (mode === "vector") v = parseVector(vector.value);
        else {
          const d = await ctx.dimension();
          if (d === undefined) throw new Error("no agent reports a dimension yet (IndexProperty); paste a vector instead");
          v = randomVector(d);
        }
        rpc = exact ? "LinearSearch" : "Search";
        res = await (exact ? api.search.linearSearch({ vector: v, config }, opts) : api.search.search({ vector: v, config }, opts));
        used.textContent = `vald.v1.Search/${rpc} vector=${showVector(v, 6)}`;
      }
      return {
        summary: `${num(res.results.length)} neighbour${res.results.length === 1 ? "" : "s"}`,
        body: table(
          ["#", "Id", "Distance"],
          res.results.map((r, i) => [
            String(i + 1),
            h("button", { type: "button", class: "link", title: "search by this id", onclick: () => byId(r.id) }, r.id),
            r.distance.toFixed(6),
          ]),
          { class: "neighbours" },
        ),
      };
    };
    const button = runButton("Search", out, ctx, search);
    const byId = (next: string) => {
      mode = "id";
      id.value = next;
      showMode();
      button.click();
    };

    root.replaceChildren(
      panel(
        "Search",
        modes,
        inputs,
        h("div", { class: "row" }, field("Neighbours (num)", k), field("Epsilon", epsilon), field("Timeout (ms)", timeout), h("label", { class: "check" }, linear, " exact (LinearSearch)")),
        h("div", { class: "actions" }, button),
        used,
        out,
      ),
    );
    if (mode === "id" && id.value) button.click();
  },
};
