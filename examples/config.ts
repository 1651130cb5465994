// Every setting, in alvd's layout: `alvd server --config examples/config.ts` reads the
// server section (and its embedded agent the agent section first, then the server's);
// `alvd agent --config examples/config.ts` reads the agent section. Keys are the flags
// in camelCase; command-line flags and ALVD_* variables override what is here.
// Values are the defaults except where a comment says why not.
import { defineConfig } from "alvd";

export default defineConfig({
  server: {
    agent: true,
    serverGrpcHost: "0.0.0.0",
    serverGrpcPort: 8080,
    server: "0.0.0.0:8000", // where agents dial in
    metricsHost: "0.0.0.0",
    metricsPort: 9090,
    console: true, // the web console at / and /console
    replicas: 2, // two copies survive one lost agent
    writeConsistency: 0,
    replicaTimeout: "1s",
    agentLostAfter: "1m",
    repairRate: 1000,
    repairInterval: "10m",
    rebalance: true,
    checkIndexInterval: "10s",
    createIndexThreshold: 1000, // bulk loads index in bigger steps
    saveInterval: "10m",
    ttl: "0", // e.g. "720h" to drop vectors a month after their timestamp
    interceptorTimeout: "1s",
    maxAgents: 1024,
    token: "", // set one (and API keys) before exposing port 8000
    apiKey: [],
    readOnlyApiKey: [],
    apiKeyFile: "",
    readOnlyApiKeyFile: "",
    metricsApiKey: "",
    tlsCertFile: "",
    tlsKeyFile: "",
    tlsClientCaFile: "",
    maxMessageSize: "64MiB",
    maxSearchNum: 10000,
    maxBatch: 10000,
    maxIdLength: 1024,
    maxConcurrentStreams: 1024,
    maxInFlight: 8192,
    logLevel: "info",
    logFormat: "text",
  },
  agent: {
    server: ["127.0.0.1:8000"], // servers to dial (alvd agent); one tunnel each
    name: "", // generated, and kept in indexPath
    dimension: 300, // fixed for the life of the index
    distanceType: "l2",
    objectType: "float",
    creationEdgeSize: 20,
    searchEdgeSize: 64,
    indexPath: "alvd-data", // relative to the working directory; "" = memory only
    createIndexThreshold: 1000,
    checkIndexInterval: "10s",
    saveInterval: "10m",
    keepGenerations: 2,
    recover: "none",
    indexThreads: 0,
    simd: "auto",
    grpcHost: "0.0.0.0",
    grpcPort: 8081,
    metricsHost: "0.0.0.0",
    metricsPort: 9091, // a separate agent process needs its own; the embedded agent shares the server's
    token: "",
    apiKey: [],
    readOnlyApiKey: [],
    apiKeyFile: "",
    readOnlyApiKeyFile: "",
    metricsApiKey: "",
    tlsCertFile: "",
    tlsKeyFile: "",
    tlsClientCaFile: "",
    tlsCaFile: "",
    tunnelTls: false,
    maxMessageSize: "64MiB",
    maxSearchNum: 10000,
    maxBatch: 10000,
    maxIdLength: 1024,
    maxConcurrentStreams: 1024,
    maxInFlight: 8192,
    logLevel: "info",
    logFormat: "text",
  },
});
