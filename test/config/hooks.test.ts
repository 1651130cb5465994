// The config file's hooks on a real server: what they may change, how their failures
// reach clients (their own code, INTERNAL, DEADLINE_EXCEEDED), on unary, Multi* and
// Stream* calls and over gRPC, gRPC-web and Connect; and the Filter service.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Search_RequestSchema } from "../../src/gen/payload/v1/payload_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { client, failure, startServer, status, type Client, type Server } from "../examples/harness";

const CONFIG = `import { Code, ConnectError, defineConfig } from "alvd";
import { TAG } from "./tag";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export default defineConfig({
  server: {
    interceptorTimeout: "300ms",
    insertDataInterceptor(r) {
      const id = r.vector.id;
      if (id.startsWith("deny")) throw new ConnectError(\`no \${id}\`, Code.PermissionDenied);
      if (id.startsWith("bug")) throw new TypeError("hook bug");
      if (id.startsWith("slow")) return sleep(2000).then(() => undefined);
      if (id.startsWith("empty")) r.vector.vector = [];
      if (id.startsWith("later")) return sleep(5).then(() => ({ ...r, vector: { ...r.vector, id: id + "-later" } }));
      const host = r.config.filters?.targets[0]?.host;
      if (host) r.vector.id = id + "." + host;
    },
    updateDataInterceptor(r) {
      if (r.vector.id.startsWith("frozen")) throw new ConnectError("frozen", Code.FailedPrecondition);
    },
    upsertDataInterceptor(r) {
      r.vector.vector = r.vector.vector.map((x) => x * 2);
    },
    removeDataInterceptor(r) {
      if (r.id.id.startsWith("keep")) throw new ConnectError("kept", Code.PermissionDenied);
    },
    searchQueryInterceptor(r) {
      if (r.config.ingressFilters?.targets[0]?.host === "one") r.config.num = 1;
    },
    searchResultInterceptor(config, results) {
      const host = config.egressFilters?.targets[0]?.host;
      if (host === "bug") throw new Error("result bug");
      if (host === "garbage") return [{ id: 5 }] as never;
      return results.map((r) => ({ id: TAG + r.id, distance: r.distance }));
    },
    vectorizer(object, target) {
      const text = new TextDecoder().decode(object);
      if (text === "boom") throw new Error("model down");
      const v = [text.length, text.charCodeAt(0), 1, 1];
      return target?.host === "double" ? v.map((x) => x * 2) : v;
    },
  },
});
`;

const dir = mkdtempSync(join(tmpdir(), "alvd-hooks-"));
let server: Server;
let plain: Server;
let c: Client;
const at = (x: number): number[] => [x, 0, 0, 0];

beforeAll(async () => {
  writeFileSync(join(dir, "tag.ts"), 'export const TAG = "r:";\n');
  writeFileSync(join(dir, "alvd.config.ts"), CONFIG);
  [server, plain] = await Promise.all([startServer(join(dir, "alvd.config.ts"), ["--dimension=4"]), startServer(undefined, ["--dimension=4"])]);
  c = client(server.grpcPort);
});

afterAll(async () => {
  c?.close();
  await server?.stop();
  await plain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("write hooks", () => {
  test("change the request, refuse it with their own code, fail as INTERNAL or DEADLINE_EXCEEDED", async () => {
    expect(await c.insert("ok1", at(1))).toBe("ok1");
    expect(await failure(c.insert("deny1", at(1)))).toEqual({ code: status.PERMISSION_DENIED, details: "no deny1" });
    expect(await failure(c.insert("bug1", at(1)))).toEqual({ code: status.INTERNAL, details: "Insert: insertDataInterceptor failed: hook bug" });
    const slow = await failure(c.insert("slow1", at(1)));
    expect(slow.code).toBe(status.DEADLINE_EXCEEDED);
    expect(slow.details).toBe("Insert: insertDataInterceptor did not finish within --interceptor-timeout 300ms");
    expect(await failure(c.insert("empty1", at(1)))).toEqual({ code: status.INTERNAL, details: "Insert: insertDataInterceptor returned an invalid request: vector has 0 dimensions, at least 2 are required" });
    // a client's mistake is caught before any hook sees it
    expect((await failure(c.insert("deny2", [1]))).code).toBe(status.INVALID_ARGUMENT);
    expect(await c.insert("later1", at(1))).toBe("later1-later");
    // the request's filter targets reach the hook
    expect(await c.insert("tgt", at(1), { filterHost: "x" })).toBe("tgt.x");
    expect(await c.exists("tgt.x")).toBe(true);
    for (const id of ["deny1", "bug1", "slow1", "empty1", "later1", "tgt"]) expect(await c.exists(id)).toBe(false);
    expect(server.output()).toContain("insertDataInterceptor failed; the call answers INTERNAL");
  });

  test("a stream item fails alone; a Multi* call fails whole", async () => {
    const codes = await c.streamInsert([
      { id: "s1", vector: at(1) },
      { id: "deny-s", vector: at(1) },
      { id: "bug-s", vector: at(1) },
      { id: "s2", vector: at(1) },
    ]);
    expect(codes.map((x) => x.code)).toEqual([0, status.PERMISSION_DENIED, status.INTERNAL, 0]);
    expect(codes[2]!.message).toContain("insertDataInterceptor failed");
    expect(await c.exists("s2")).toBe(true);
    const m = await failure(c.multiInsert([{ id: "m1", vector: at(1) }, { id: "deny-m", vector: at(1) }]));
    expect(m.code).toBe(status.PERMISSION_DENIED);
    expect(m.details).toContain("requests[1]");
    expect(await c.exists("m1")).toBe(false);
    expect(await c.multiInsert([{ id: "m2", vector: at(1) }, { id: "m3", vector: at(1) }])).toEqual(["m2", "m3"]);
  });

  test("update, upsert and remove hooks", async () => {
    await c.insert("frozen1", at(1));
    expect((await failure(c.update("frozen1", at(2)))).code).toBe(status.FAILED_PRECONDITION);
    expect(await c.update("ok1", at(3))).toBe("ok1");
    await c.upsert("u1", [1, 2, 3, 4]);
    expect(await c.getObject("u1")).toEqual([2, 4, 6, 8]);
    await c.insert("keep1", at(1));
    expect(await failure(c.remove("keep1"))).toEqual({ code: status.PERMISSION_DENIED, details: "kept" });
    expect(await c.exists("keep1")).toBe(true);
    expect(await c.remove("m2")).toBe("m2");
  });
});

describe("search hooks", () => {
  test("every search flavour goes through them", async () => {
    const only = (hits: { id: string }[]) => hits.map((h) => h.id);
    expect(only(await c.search(at(1), 2)).every((id) => id.startsWith("r:"))).toBe(true);
    expect(await c.search(at(1), 5, { ingressHost: "one" })).toHaveLength(1);
    expect(only(await c.searchById("u1", 1))).toEqual(["r:u1"]);
    expect(only(await c.linearSearch(at(3), 1))).toEqual(["r:ok1"]);
    const multi = await c.multiSearch([at(3), at(3)], 1);
    expect(multi.map(only)).toEqual([["r:ok1"], ["r:ok1"]]);
    const stream = await c.streamSearch([at(3), [1], at(3)], 1);
    expect(stream[0]).toEqual([{ id: "r:ok1", distance: 0 }]);
    expect((stream[1] as { code: number }).code).toBe(status.INVALID_ARGUMENT);
    expect(stream[2]).toEqual([{ id: "r:ok1", distance: 0 }]);
  });

  test("a failing or malformed result hook is INTERNAL naming it", async () => {
    expect(await failure(c.search(at(1), 2, { egressHost: "bug" }))).toEqual({ code: status.INTERNAL, details: "Search: searchResultInterceptor failed: result bug" });
    const g = await failure(c.search(at(1), 2, { egressHost: "garbage" }));
    expect(g.code).toBe(status.INTERNAL);
    expect(g.details).toContain("searchResultInterceptor returned an item");
  });

  test("Connect and gRPC-web get the same hooks and codes", async () => {
    const base = `http://127.0.0.1:${server.grpcPort}`;
    for (const transport of [createConnectTransport({ baseUrl: base, httpVersion: "1.1" }), createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" })]) {
      const search = createClient(Search, transport);
      const res = await search.search(create(Search_RequestSchema, { vector: at(3), config: { num: 1 } }));
      expect(res.results.map((r) => r.id)).toEqual(["r:ok1"]);
      const err = await createClient(Insert, transport).insert({ vector: { id: "deny-web", vector: at(1) }, config: {} }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code).toBe(Code.PermissionDenied);
      expect(err?.rawMessage).toBe("no deny-web");
    }
  });
});

describe("Filter service", () => {
  test("objects become vectors through the vectorizer, then the usual hooks", async () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(await c.insertObject("o1", text("hello"))).toBe("o1");
    expect(await c.getObject("o1")).toEqual([5, 104, 1, 1]);
    // the request's vectorizer target reaches the vectorizer
    await c.insertObject("o2", text("hello"), "double");
    expect(await c.getObject("o2")).toEqual([10, 208, 2, 2]);
    expect((await c.searchObject(text("hello"), 1))[0]!.id).toBe("r:o1");
    expect(await failure(c.insertObject("deny-o", text("hi")))).toEqual({ code: status.PERMISSION_DENIED, details: "no deny-o" });
    expect(await failure(c.insertObject("o3", text("boom")))).toEqual({ code: status.INTERNAL, details: "InsertObject: vectorizer failed: model down" });
    expect((await failure(c.insertObject("", text("hi")))).code).toBe(status.INVALID_ARGUMENT);
  });

  test("without a vectorizer it is UNIMPLEMENTED and says how to add one", async () => {
    const p = client(plain.grpcPort);
    try {
      const e = await failure(p.insertObject("x", new Uint8Array([1, 2])));
      expect(e.code).toBe(status.UNIMPLEMENTED);
      expect(e.details).toContain("add vectorizer(object, target) to the server section of an alvd.config.ts");
      expect((await failure(p.searchObject(new Uint8Array([1]), 1))).code).toBe(status.UNIMPLEMENTED);
    } finally {
      p.close();
    }
  });
});
