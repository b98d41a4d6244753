import { RandomStream } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { applyAttribute, attributeVector, classChangeVector, labelAttributeVector, parseLabelAttribute } from './attributes.js';

/** Labelled synthetic codes: z = noise + has·v + label offset, for a known attribute direction v. */
function labelledCodes(n: number, v: number[], rng: RandomStream): { codes: Float32Array; has: boolean[] } {
  const dim = v.length;
  const codes = new Float32Array(n * dim);
  const has: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const flag = rng.nextFloat() < 0.4;
    has.push(flag);
    for (let j = 0; j < dim; j++) {
      const noise = Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
      codes[i * dim + j] = 0.3 * noise + (flag ? v[j]! : 0);
    }
  }
  return { codes, has };
}

describe('attribute vectors', () => {
  it('recovers the known attribute direction from labelled codes, and moves codes along it', () => {
    const v = [1.5, 0, -1, 0.5, 0];
    const { codes, has } = labelledCodes(4000, v, new RandomStream('attr', 3));
    const vector = attributeVector(codes, v.length, has);
    vector.forEach((x, j) => expect(x).toBeCloseTo(v[j]!, 1));
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, j) => s + x * b[j]!, 0);
    // A code without the attribute, moved by amounts 0, 0.5, 1: its projection on v grows by α·v·vector
    const base = Array.from(codes.subarray(0, v.length));
    const moved = applyAttribute(base, vector, [0, 0.5, 1]);
    const proj = [0, 1, 2].map((r) => dot(moved.subarray(r * 5, r * 5 + 5), v));
    expect(proj[0]).toBeCloseTo(dot(base, v), 5);
    expect(proj[1]! - proj[0]!).toBeCloseTo(0.5 * dot(vector, v), 4);
    expect(proj[2]! - proj[1]!).toBeCloseTo(0.5 * dot(vector, v), 4);
    expect(dot(vector, v)).toBeGreaterThan(0.9 * dot(v, v));
    // the dimensions the attribute does not touch stay put, up to noise
    expect(Math.abs(vector[1]!)).toBeLessThan(0.05);
  });

  it('class changes: mean of the target class minus mean of the source class', () => {
    const codes = [0, 0, 2, 0, 0, 4, 0, 6];
    const labels = [3, 3, 8, 8];
    expect(Array.from(classChangeVector(codes, 2, labels, 3, 8))).toEqual([-1, 5]);
    expect(Array.from(labelAttributeVector(parseLabelAttribute('3-to-8', ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']), codes, 2, labels))).toEqual([-1, 5]);
    // '8' alone: the 8s against everything else (here the 3s)
    expect(Array.from(labelAttributeVector(parseLabelAttribute('8', ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']), codes, 2, labels))).toEqual([-1, 5]);
    expect(() => classChangeVector(codes, 2, labels, 3, 5)).toThrow(/no examples of class 5/);
    expect(() => attributeVector(codes, 2, [true, true, true, true])).toThrow(/with and without/);
  });

  it('parses class names and numbers, and lists the classes on a bad name', () => {
    const names = ['horizontal_bar', 'vertical_bar', 'blob', 'square'];
    expect(parseLabelAttribute('blob', names)).toEqual({ kind: 'class', label: 2, name: 'blob' });
    expect(parseLabelAttribute('horizontal_bar-to-square', names)).toMatchObject({ kind: 'change', from: 0, to: 3 });
    expect(parseLabelAttribute('1-to-2', names)).toMatchObject({ kind: 'change', from: 1, to: 2 });
    expect(() => parseLabelAttribute('circle', names)).toThrow(/unknown class 'circle'; classes: 0 \(horizontal_bar\), 1 \(vertical_bar\)/);
    expect(() => parseLabelAttribute('2-to-2', names)).toThrow(/into itself/);
  });
});
