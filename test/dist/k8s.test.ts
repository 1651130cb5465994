// k8s/ manifests: well-formed, selectors match, and ports, probes, env and volumes agree
// with the CLI flags and the image (BUN_TMPDIR, data path).
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { flagValue, listenPorts, parseFlags, readText, ROOT, yamlDocs } from "./manifests";

const files = readdirSync(join(ROOT, "k8s")).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
const docs: Record<string, any>[] = files.flatMap((f) => yamlDocs(`k8s/${f}`).map((d) => ({ ...d, file: f })));
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
const named = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
const workloads = [...byKind("Deployment"), ...byKind("StatefulSet")];
const bunTmp = /ENV BUN_TMPDIR=(\S+)/.exec(readText("Dockerfile"))![1]!;

function container(w: any): any {
  expect(w.spec.template.spec.containers.length).toBe(1);
  return w.spec.template.spec.containers[0];
}
function ports(w: any): Record<string, number> {
  return Object.fromEntries((container(w).ports as any[]).map((p) => [p.name, p.containerPort]));
}
function command(w: any): { command: "server" | "agent"; args: string[] } {
  const [c, ...args] = container(w).args as string[];
  return { command: c as "server" | "agent", args };
}

describe("k8s manifests", () => {
  test("every document has apiVersion, kind and metadata.name; kustomization lists every file", () => {
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) {
      expect(typeof d.apiVersion, d.file).toBe("string");
      expect(typeof d.kind, d.file).toBe("string");
      expect(d.metadata?.name, d.file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    const k = yamlDocs("k8s/kustomization.yaml")[0]!;
    expect(k.kind).toBe("Kustomization");
    expect([...k.resources].sort()).toEqual([...files].sort());
    expect(k.images[0].name).toBe(container(workloads[0]).image);
  });

  test("the server Deployment and the agent StatefulSet exist", () => {
    expect(named("Deployment", "alvd-server")).toBeDefined();
    expect(named("StatefulSet", "alvd-agent")).toBeDefined();
    expect(named("Service", "alvd-server")).toBeDefined();
    expect(named("Secret", "alvd-token")).toBeDefined();
  });

  test("selectors match the pod template labels; Services select a workload and target named ports", () => {
    for (const w of workloads) {
      const labels = w.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(w.spec.selector.matchLabels)) expect(labels[k]).toBe(v);
    }
    for (const s of byKind("Service")) {
      const w = workloads.find((w) => Object.entries(s.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
      expect(w, s.metadata.name).toBeDefined();
      const p = ports(w);
      for (const sp of s.spec.ports) {
        expect(p[sp.targetPort], `${s.metadata.name} ${sp.name}`).toBeDefined();
        expect(sp.port).toBe(p[sp.targetPort]);
      }
    }
    const sts = named("StatefulSet", "alvd-agent")!;
    expect(named("Service", sts.spec.serviceName)?.spec.clusterIP).toBe("None");
  });

  test("container ports are the ports the command line listens on", () => {
    for (const w of workloads) {
      const { command: c, args } = command(w);
      expect(() => parseFlags(c, args)).not.toThrow();
      const env = Object.fromEntries(((container(w).env ?? []) as any[]).filter((e) => "value" in e).map((e) => [e.name, e.value]));
      const listen = listenPorts(c, args, env);
      expect(ports(w), w.metadata.name).toEqual(listen);
    }
    const server = named("Deployment", "alvd-server")!;
    expect(Object.keys(ports(server)).sort()).toEqual(["grpc", "metrics", "tunnel"]);
  });

  test("readiness (/readyz) and liveness (/healthz) probes hit the metrics port", () => {
    for (const w of workloads) {
      const c = container(w);
      const p = ports(w);
      expect(c.readinessProbe.httpGet.path).toBe("/readyz");
      expect(c.livenessProbe.httpGet.path).toBe("/healthz");
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        const port = typeof probe.httpGet.port === "number" ? probe.httpGet.port : p[probe.httpGet.port];
        expect(port).toBe(p.metrics);
      }
    }
  });

  test("agents: server address, name from the pod, token from the Secret, index on the claim", () => {
    const sts = named("StatefulSet", "alvd-agent")!;
    const { command: c, args } = command(sts);
    expect(c).toBe("agent");
    const svc = named("Service", "alvd-server")!;
    const tunnel = svc.spec.ports.find((p: any) => p.name === "tunnel").port;
    expect(flagValue("agent", args, "server")).toBe(`${svc.metadata.name}:${tunnel}`);
    const env = container(sts).env as any[];
    expect(env.find((e) => e.name === "ALVD_NAME")?.valueFrom.fieldRef.fieldPath).toBe("metadata.name");
    const indexPath = flagValue("agent", args, "index-path");
    const claim = sts.spec.volumeClaimTemplates[0].metadata.name;
    expect(container(sts).volumeMounts.find((m: any) => m.name === claim)?.mountPath).toBe(indexPath);
  });

  test("ALVD_TOKEN comes from the Secret, on both sides", () => {
    for (const w of workloads) {
      const ref = (container(w).env as any[]).find((e) => e.name === "ALVD_TOKEN")?.valueFrom?.secretKeyRef;
      expect(ref, w.metadata.name).toBeDefined();
      const secret = named("Secret", ref.name)!;
      expect(secret).toBeDefined();
      expect({ ...secret.data, ...secret.stringData }[ref.key]).toBeDefined();
    }
  });

  test("non-root, read-only root with a writable exec dir at the image's BUN_TMPDIR", () => {
    for (const w of workloads) {
      const pod = w.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      const c = container(w);
      expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
      const m = c.volumeMounts.find((m: any) => m.mountPath === bunTmp);
      expect(m, w.metadata.name).toBeDefined();
      expect(pod.volumes.find((v: any) => v.name === m.name)?.emptyDir).toBeDefined();
    }
  });
});
