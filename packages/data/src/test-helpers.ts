/* Helpers for this package's tests only (not exported from index.ts). */

/** IDX bytes for unsigned-byte data (built here by hand, independent of the parser). */
export function idxBytes(dims: number[], data: ArrayLike<number>, type = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = type;
  out[3] = dims.length;
  dims.forEach((d, i) => {
    const o = 4 + 4 * i;
    out[o] = (d >>> 24) & 255;
    out[o + 1] = (d >>> 16) & 255;
    out[o + 2] = (d >>> 8) & 255;
    out[o + 3] = d & 255;
  });
  out.set(Array.from(data), 4 + 4 * dims.length);
  return out;
}

/** A tiny MNIST-shaped folder: `nTrain`/`nTest` 28x28 images whose pixel k of image i is (i + k) % 256, label i % 10. */
export function writeFakeMnist(
  folder: string,
  nTrain: number,
  nTest: number,
  write: (file: string, bytes: Uint8Array) => void,
  names = {
    trainImages: 'train-images-idx3-ubyte',
    trainLabels: 'train-labels-idx1-ubyte',
    testImages: 't10k-images-idx3-ubyte',
    testLabels: 't10k-labels-idx1-ubyte',
  },
): void {
  const images = (n: number) => idxBytes([n, 28, 28], Array.from({ length: n * 784 }, (_, j) => (Math.floor(j / 784) + (j % 784)) % 256));
  const labels = (n: number) => idxBytes([n], Array.from({ length: n }, (_, i) => i % 10));
  write(`${folder}/${names.trainImages}`, images(nTrain));
  write(`${folder}/${names.trainLabels}`, labels(nTrain));
  write(`${folder}/${names.testImages}`, images(nTest));
  write(`${folder}/${names.testLabels}`, labels(nTest));
}
