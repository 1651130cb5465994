// Object.Location for a write that landed on several replicas, Vald-style: one
// Location whose name is the sorted, comma-joined agent names and whose ips are all
// replicas' addresses.
import { create } from "@bufbuild/protobuf";
import { Object_LocationSchema, type Object_Location } from "../gen/payload/v1/payload_pb";
import type { AgentHandle } from "./agents";

export function replicaLocation(uuid: string, replicas: readonly { agent: AgentHandle; value?: Object_Location }[]): Object_Location {
  const rs = [...replicas].sort((a, b) => (a.agent.name < b.agent.name ? -1 : a.agent.name > b.agent.name ? 1 : 0));
  const ips: string[] = [];
  for (const r of rs) ips.push(...(r.value !== undefined && r.value.ips.length > 0 ? r.value.ips : r.agent.ips));
  return create(Object_LocationSchema, { uuid, name: rs.map((r) => r.agent.name).join(","), ips });
}

/** Merges per-agent location lists (RemoveByTimestamp) into one Location per id. */
export function mergeLocations(lists: readonly { agent: AgentHandle; locations: readonly Object_Location[] }[]): Object_Location[] {
  const byId = new Map<string, { agent: AgentHandle; value: Object_Location }[]>();
  for (const { agent, locations } of lists) {
    for (const loc of locations) {
      let rs = byId.get(loc.uuid);
      if (rs === undefined) byId.set(loc.uuid, (rs = []));
      rs.push({ agent, value: loc });
    }
  }
  return [...byId].map(([uuid, rs]) => replicaLocation(uuid, rs));
}
