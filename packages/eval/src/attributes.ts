import { VaeLabError } from '@vaelab/core';

/*
 * Attribute vectors (Larsen et al. 2016, §4.2; White 2016, §2.4): the mean code of examples with an
 * attribute minus the mean code of those without. Adding α times it to a code moves the decoded
 * example towards the attribute; α = 0 leaves it alone.
 */

/** Mean of the rows of codes [n * dim] selected by `pick`; null when none is selected. */
function meanOf(codes: ArrayLike<number>, dim: number, pick: (row: number) => boolean): { mean: Float64Array; count: number } {
  const n = codes.length / dim;
  const mean = new Float64Array(dim);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (!pick(i)) continue;
    count++;
    for (let j = 0; j < dim; j++) mean[j]! += codes[i * dim + j]!;
  }
  if (count > 0) for (let j = 0; j < dim; j++) mean[j]! /= count;
  return { mean, count };
}

/**
 * mean(codes with the attribute) − mean(codes without it). codes: [n * dim] row-major; has: [n].
 * Throws when either group is empty.
 */
export function attributeVector(codes: ArrayLike<number>, dim: number, has: ArrayLike<boolean | number>): Float32Array {
  const n = codes.length / dim;
  if (!Number.isInteger(n) || has.length !== n) throw new VaeLabError(`attributeVector: ${codes.length} values of dimension ${dim} and ${has.length} flags do not match`);
  const withIt = meanOf(codes, dim, (i) => Boolean(has[i]));
  const without = meanOf(codes, dim, (i) => !has[i]);
  if (withIt.count === 0 || without.count === 0) {
    throw new VaeLabError(`attributeVector: needs examples with and without the attribute (found ${withIt.count} with, ${without.count} without)`);
  }
  return Float32Array.from(withIt.mean, (m, j) => m - without.mean[j]!);
}

/** mean(codes of class `to`) − mean(codes of class `from`): the vector that turns one class into another. */
export function classChangeVector(codes: ArrayLike<number>, dim: number, labels: ArrayLike<number>, from: number, to: number): Float32Array {
  const a = meanOf(codes, dim, (i) => labels[i] === to);
  const b = meanOf(codes, dim, (i) => labels[i] === from);
  if (a.count === 0 || b.count === 0) {
    throw new VaeLabError(`classChangeVector: no examples of class ${a.count === 0 ? to : from} among the ${labels.length} encoded`);
  }
  return Float32Array.from(a.mean, (m, j) => m - b.mean[j]!);
}

/** An attribute on a labelled dataset: a class (`8`: 8 against the rest) or a change of class (`3-to-8`). */
export type LabelAttribute = { kind: 'class'; label: number; name: string } | { kind: 'change'; from: number; to: number; name: string };

/**
 * Parse `--attribute`: a class (`8`, or a class name) or `FROM-to-TO`. `classNames[k]` names label
 * k (default: the digits). Errors list what is allowed.
 */
export function parseLabelAttribute(text: string, classNames: readonly string[]): LabelAttribute {
  const find = (part: string): number => {
    const byName = classNames.indexOf(part);
    if (byName >= 0) return byName;
    if (/^\d+$/.test(part) && Number(part) < classNames.length) return Number(part);
    throw new VaeLabError(
      `--attribute: unknown class '${part}'; classes: ${classNames.map((c, k) => (c === String(k) ? c : `${k} (${c})`)).join(', ')}; ` +
        `write a class (e.g. ${classNames[0]}) or a change of class (e.g. ${classNames[0]}-to-${classNames[1] ?? classNames[0]})`,
    );
  };
  const m = /^(.+)-to-(.+)$/.exec(text.trim());
  if (m) {
    const from = find(m[1]!);
    const to = find(m[2]!);
    if (from === to) throw new VaeLabError(`--attribute: '${text}' changes a class into itself`);
    return { kind: 'change', from, to, name: text.trim() };
  }
  const label = find(text.trim());
  return { kind: 'class', label, name: text.trim() };
}

/** The attribute's vector from encoded examples and their labels. */
export function labelAttributeVector(attribute: LabelAttribute, codes: ArrayLike<number>, dim: number, labels: ArrayLike<number>): Float32Array {
  if (attribute.kind === 'change') return classChangeVector(codes, dim, labels, attribute.from, attribute.to);
  return attributeVector(codes, dim, Array.from(labels, (l) => l === attribute.label));
}

/** base + α·vector for each α of `amounts`: [amounts.length * dim] values, row-major. */
export function applyAttribute(base: ArrayLike<number>, vector: ArrayLike<number>, amounts: readonly number[]): Float32Array {
  const dim = base.length;
  if (vector.length !== dim) throw new VaeLabError(`applyAttribute: the code has ${dim} dimensions, the vector ${vector.length}`);
  const out = new Float32Array(amounts.length * dim);
  amounts.forEach((alpha, row) => {
    for (let j = 0; j < dim; j++) out[row * dim + j] = base[j]! + alpha * vector[j]!;
  });
  return out;
}
