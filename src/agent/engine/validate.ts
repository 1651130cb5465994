// Input checks shared by every mutation and search. Vectors are copied on the way in:
// callers hand us views into protobuf buffers that they may reuse, and the native
// index ignores a typed array's byteOffset in places.
import { invalidArgument } from "./errors";

export function checkId(id: string): void {
  if (typeof id !== "string" || id.length === 0) throw invalidArgument("id must not be empty");
}

export function checkVector(vector: Float32Array, dimension: number): Float32Array {
  if (vector.length !== dimension) {
    throw invalidArgument(`vector has ${vector.length} dimensions, expected ${dimension}`);
  }
  const copy = new Float32Array(vector);
  for (let i = 0; i < copy.length; i++) {
    if (!Number.isFinite(copy[i]!)) {
      throw invalidArgument(`vector element ${i} is ${copy[i]}; only finite values are accepted`);
    }
  }
  return copy;
}
