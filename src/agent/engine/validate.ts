// Input checks shared by every mutation and search. Vectors are copied on the way in:
// callers hand us views into protobuf buffers that they may reuse, and the native
// index ignores a typed array's byteOffset in places.
import { invalidArgument } from "./errors";

export function checkId(id: string): void {
  if (typeof id !== "string" || id.length === 0) throw invalidArgument("id must not be empty");
}

export function checkVector(vector: Float32Array, dimension: number): Float32Array {
  return checkQuery(new Float32Array(vector), dimension);
}

/** The same checks without the copy, for a vector only read while the call runs (a query). */
export function checkQuery(vector: Float32Array, dimension: number): Float32Array {
  if (vector.length !== dimension) {
    throw invalidArgument(`vector has ${vector.length} dimensions, expected ${dimension}`);
  }
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i]!)) {
      throw invalidArgument(`vector element ${i} is ${vector[i]}; only finite values are accepted`);
    }
  }
  return vector;
}
