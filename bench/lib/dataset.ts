// Benchmark datasets as flat row-major Float32Arrays. Fashion-MNIST comes from the
// Debian package dataset-fashion-mnist (canonical split: 60k train, 10k test, 784-d
// pixel values 0..255, the same numbers ann-benchmarks uses).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export interface Dataset {
  name: string;
  dimension: number;
  /** base vectors, row-major */
  train: Float32Array;
  trainCount: number;
  /** query vectors, row-major */
  test: Float32Array;
  testCount: number;
}

export function row(data: Float32Array, dimension: number, i: number): Float32Array {
  return data.subarray(i * dimension, (i + 1) * dimension);
}

/** IDX image file (magic 0x00000803: uint8 count × rows × cols) → f32 rows. */
export function decodeIdxImages(bytes: Uint8Array, path = "idx"): { count: number; dimension: number; data: Float32Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== 0x00000803) throw new Error(`${path}: not an IDX uint8 3-d file (magic 0x${magic.toString(16)})`);
  const count = view.getUint32(4);
  const dimension = view.getUint32(8) * view.getUint32(12);
  const expected = 16 + count * dimension;
  if (bytes.byteLength < expected) throw new Error(`${path}: truncated (${bytes.byteLength} < ${expected} bytes)`);
  const data = new Float32Array(count * dimension);
  for (let i = 0; i < data.length; i++) data[i] = bytes[16 + i]!;
  return { count, dimension, data };
}

export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

export function loadFashionMnist(dir = FASHION_MNIST_DIR): Dataset {
  const read = (file: string) => {
    const path = join(dir, file);
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: apt-get install dataset-fashion-mnist (files listed by dpkg -L dataset-fashion-mnist)`);
    }
    return decodeIdxImages(gunzipSync(readFileSync(path)), path);
  };
  const train = read("train-images-idx3-ubyte.gz");
  const test = read("t10k-images-idx3-ubyte.gz");
  if (train.dimension !== test.dimension) throw new Error("fashion-mnist: train and test dimensions differ");
  return { name: "fashion-mnist", dimension: train.dimension, train: train.data, trainCount: train.count, test: test.data, testCount: test.count };
}
