// docker-compose.yml, the Prometheus config and the Grafana provisioning agree with each
// other and with the CLI (flag names, ports), and the dashboard queries metrics the
// sources actually register.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { flagValue, listenPorts, metricsIn, parseFlags, readText, registeredMetrics, ROOT, yamlDocs } from "./manifests";

const compose = yamlDocs("docker-compose.yml")[0]!;
const services = compose.services as Record<string, any>;
const agents = Object.keys(services).filter((n) => services[n].command?.[0] === "agent");
const server = services.server;
const serverArgs = (server.command as string[]).slice(1);
const serverPorts = listenPorts("server", serverArgs);

/** "host:container" port mappings → container ports */
const published = (svc: any) => (svc.ports as string[]).map((p) => Number(String(p).split(":").pop()));
/** "volume:/path[:ro]" → { source, target } */
const mounts = (svc: any) => ((svc.volumes ?? []) as string[]).map((v) => ({ source: v.split(":")[0]!, target: v.split(":")[1]! }));

describe("docker-compose.yml", () => {
  test("has the server, three agents, Prometheus and Grafana", () => {
    expect(server.command[0]).toBe("server");
    expect(agents.length).toBe(3);
    expect(services.prometheus.image).toMatch(/^prom\/prometheus:/);
    expect(services.grafana.image).toMatch(/^grafana\/grafana:/);
  });

  test("alvd services use the image built from this repo and valid flags", () => {
    expect(server.build).toBe(".");
    for (const n of ["server", ...agents]) {
      const [command, ...args] = services[n].command as ["server" | "agent", ...string[]];
      expect(() => parseFlags(command, args)).not.toThrow();
      expect(services[n].image).toBe(server.image);
      expect(services[n].environment.ALVD_TOKEN).toMatch(/^\$\{ALVD_TOKEN/);
    }
  });

  test("the server publishes its gateway, tunnel and metrics ports, which are the CLI defaults", () => {
    expect(serverPorts.grpc).toBe(listenPorts("server", []).grpc);
    expect(serverPorts.tunnel).toBe(listenPorts("server", []).tunnel);
    expect(serverPorts.metrics).toBe(listenPorts("server", []).metrics);
    expect(published(server).sort()).toEqual([serverPorts.grpc!, serverPorts.tunnel!, serverPorts.metrics!].sort());
    // no two services publish the same host port
    const hostPorts = Object.values(services).flatMap((s: any) => ((s.ports ?? []) as string[]).map((p) => String(p).split(":")[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  test("agents dial the server's tunnel port and keep their index on their own named volume", () => {
    const names = new Set<string>();
    const volumes = new Set<string>();
    for (const n of agents) {
      const args = (services[n].command as string[]).slice(1);
      expect(flagValue("agent", args, "server")).toBe(`server:${serverPorts.tunnel}`);
      const indexPath = flagValue("agent", args, "index-path");
      expect(indexPath).not.toBe("");
      const m = mounts(services[n]).find((v) => v.target === indexPath);
      expect(m).toBeDefined();
      expect(Object.keys(compose.volumes)).toContain(m!.source);
      volumes.add(m!.source);
      names.add(flagValue("agent", args, "name"));
      expect(services[n].depends_on).toContain("server");
    }
    expect(volumes.size).toBe(agents.length);
    expect(names.size).toBe(agents.length);
  });

  test("Prometheus scrapes the server's and every agent's metrics port", () => {
    const mount = mounts(services.prometheus).find((v) => v.target === "/etc/prometheus/prometheus.yml");
    expect(mount?.source).toBe("./deploy/prometheus.yml");
    const prom = yamlDocs("deploy/prometheus.yml")[0]!;
    const targets = (prom.scrape_configs as any[]).flatMap((j) => (j.static_configs as any[]).flatMap((c) => c.targets as string[]));
    expect(targets).toContain(`server:${serverPorts.metrics}`);
    for (const n of agents) {
      const metrics = listenPorts("agent", (services[n].command as string[]).slice(1)).metrics;
      expect(targets).toContain(`${n}:${metrics}`);
    }
    for (const j of prom.scrape_configs as any[]) expect(j.metrics_path ?? "/metrics").toBe("/metrics");
  });

  test("Grafana gets the Prometheus datasource and the dashboard folder it is told about", () => {
    const m = mounts(services.grafana);
    const prov = m.find((v) => v.target === "/etc/grafana/provisioning");
    expect(prov?.source).toBe("./deploy/grafana/provisioning");
    const ds = yamlDocs("deploy/grafana/provisioning/datasources/prometheus.yml")[0]!.datasources[0];
    expect(ds.type).toBe("prometheus");
    expect(ds.url).toBe("http://prometheus:9090");
    const provider = yamlDocs("deploy/grafana/provisioning/dashboards/alvd.yml")[0]!.providers[0];
    const dash = m.find((v) => v.target === provider.options.path);
    expect(dash).toBeDefined();
    expect(existsSync(join(ROOT, dash!.source))).toBe(true);
    expect(readdirSync(join(ROOT, dash!.source)).some((f) => f.endsWith(".json"))).toBe(true);
  });
});

describe("Grafana dashboard", () => {
  const dashboard = JSON.parse(readText("deploy/grafana/dashboards/alvd.json"));
  const ds = yamlDocs("deploy/grafana/provisioning/datasources/prometheus.yml")[0]!.datasources[0];
  const exprs: string[] = (dashboard.panels as any[]).flatMap((p) => (p.targets as any[]).map((t) => t.expr as string));

  test("parses, has a uid and panels that use the provisioned datasource", () => {
    expect(dashboard.uid).toBe("alvd");
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const p of dashboard.panels) expect(p.datasource.uid).toBe(ds.uid);
    const ids = dashboard.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("covers QPS, latency, index sizes and connected agents", () => {
    const all = exprs.join("\n");
    expect(all).toMatch(/rate\(alvd_rpc_requests_total/);
    expect(all).toMatch(/histogram_quantile\(.*alvd_rpc_duration_seconds_bucket/);
    expect(all).toContain("alvd_agent_index_stored");
    expect(all).toContain("alvd_agent_index_uncommitted");
    expect(all).toContain("alvd_gateway_agents");
  });

  test("shows the self-healing cluster: under-replicated ids, repair/move rates, agent states", () => {
    const all = exprs.join("\n");
    for (const m of ["alvd_cluster_underreplicated_ids", "alvd_cluster_repaired_vectors_total", "alvd_cluster_moved_vectors_total", "alvd_cluster_agent_state"]) expect(all).toContain(m);
  });

  test("shows the graph repair: vectors linked again and vectors every search scans", () => {
    const all = exprs.join("\n");
    for (const m of ["alvd_agent_index_relinked_total", "alvd_agent_index_scanned_vectors"]) expect(all).toContain(m);
  });

  test("every metric a query names is registered somewhere in src/", () => {
    const known = registeredMetrics();
    const missing = [...new Set(exprs.flatMap(metricsIn))].filter((m) => !known.has(m));
    expect(missing).toEqual([]);
  });
});
