// prom-client's metric classes, loaded file by file. Its index also loads the
// Pushgateway client (node:http, node:https, node:zlib) and the cluster aggregator,
// which we never use and which cost start-up time; types still come from the package.
import type * as Prom from "prom-client";

/* eslint-disable @typescript-eslint/no-require-imports */
export const Registry: typeof Prom.Registry = require("prom-client/lib/registry");
export const Counter: typeof Prom.Counter = require("prom-client/lib/counter");
export const Gauge: typeof Prom.Gauge = require("prom-client/lib/gauge");
export const Histogram: typeof Prom.Histogram = require("prom-client/lib/histogram");

export type Registry = Prom.Registry;
export type Counter<T extends string = string> = Prom.Counter<T>;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export type Histogram<T extends string = string> = Prom.Histogram<T>;
