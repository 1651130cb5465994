// 32-bit FNV-1a over an id's UTF-8 bytes: the hash alvd.cluster.v1.Replica/List ranges
// are cut on. Cheap and stable across implementations, which is all a partition of the
// id space needs (it is no defence against chosen ids, and need not be).
const OFFSET = 0x811c9dc5;
const PRIME = 0x01000193;
const encoder = new TextEncoder();

export function idHash(id: string): number {
  let h = OFFSET;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c >= 0x80) return hashBytes(encoder.encode(id));
    h = Math.imul(h ^ c, PRIME);
  }
  return h >>> 0;
}

function hashBytes(bytes: Uint8Array): number {
  let h = OFFSET;
  for (const b of bytes) h = Math.imul(h ^ b, PRIME);
  return h >>> 0;
}
