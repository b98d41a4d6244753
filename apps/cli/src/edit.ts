import * as tf from '@tensorflow/tfjs-core';
import { VaeLabError } from '@vaelab/core';
import { type LabelAttribute, applyAttribute, decodeCodes, encodeMeans, labelAttributeVector, parseLabelAttribute, shortNumber } from '@vaelab/eval';
import type { Io } from './io.js';
import { labelledGrid, savePicture } from './pictures.js';
import { type SplitName, type TrainedRun, examples, labelsOf, loadTrainedRun } from './trained.js';
import { SPLITS, choiceFlag, indexListFlag, intFlag, numberFlag } from './use-flags.js';

/* `vaelab edit <run> --attribute NAME --amount A --index I`: move an example along an attribute vector. */

export interface EditFlags {
  attribute?: string;
  amount?: string;
  index?: string;
  steps?: string;
  split?: string;
  examples?: string;
}

export function parseEditFlags(flags: EditFlags) {
  const c = 'edit';
  if (flags.attribute === undefined) throw new VaeLabError("edit: --attribute is required: a class (e.g. 8) or a change of class (e.g. 3-to-8)");
  const index = indexListFlag(c, '--index', flags.index);
  if (index === null) throw new VaeLabError('edit: --index is required: the example(s) to edit, as indices in the split (e.g. 0 or 0,5,9)');
  return {
    attribute: flags.attribute,
    amount: numberFlag(c, '--amount', flags.amount) ?? 2,
    indices: index,
    steps: intFlag(c, '--steps', flags.steps, { min: 2, max: 50 }) ?? 7,
    split: choiceFlag(c, '--split', flags.split, SPLITS, 'test') as SplitName,
    examples: intFlag(c, '--examples', flags.examples, { min: 2 }) ?? 5000,
  };
}

/** The attribute vector from the posterior means of the first `count` labelled training examples. */
export function attributeVectorOf(run: TrainedRun, attributeText: string, count: number): { attribute: LabelAttribute; vector: Float32Array } {
  if (run.conditionClasses !== null) {
    throw new VaeLabError('edit: a conditional model takes the label as its condition; change the label instead (vaelab sample --label), attribute vectors are for unconditional models');
  }
  const labels = labelsOf(run, 'train', 'edit');
  const attribute = parseLabelAttribute(attributeText, run.classNames);
  const n = Math.min(count, labels.length);
  const dim = run.exp.config.latent_dim;
  const codes = new Float32Array(n * dim);
  for (let start = 0; start < n; start += 500) {
    const indices = Array.from({ length: Math.min(500, n - start) }, (_, i) => start + i);
    const x = examples(run, 'train', indices, 'edit');
    const z = encodeMeans(run.exp.model, x, { rng: run.exp.streams.stream('use') });
    codes.set(z.dataSync(), start * dim);
    tf.dispose([x, z]);
  }
  return { attribute, vector: labelAttributeVector(attribute, codes, dim, labels.subarray(0, n)) };
}

/** Edited images of examples: [indices.length * amounts.length, ...shape], example-major. */
export function editExamples(run: TrainedRun, vector: Float32Array, split: SplitName, indices: number[], amounts: number[]): tf.Tensor {
  const x = examples(run, split, indices, 'edit');
  const z = encodeMeans(run.exp.model, x, { rng: run.exp.streams.stream('use') });
  const dim = z.shape[1];
  const values = z.dataSync();
  const codes = new Float32Array(indices.length * amounts.length * dim);
  indices.forEach((_, i) => codes.set(applyAttribute(values.subarray(i * dim, (i + 1) * dim), vector, amounts), i * amounts.length * dim));
  const zs = tf.tensor2d(codes, [indices.length * amounts.length, dim]);
  const images = decodeCodes(run.exp.model, zs);
  tf.dispose([x, z, zs]);
  return images;
}

export async function editCommand(runArg: string, flags: EditFlags, io: Io): Promise<number> {
  const s = parseEditFlags(flags);
  const run = await loadTrainedRun(runArg, io, 'edit');
  try {
    const { attribute, vector } = attributeVectorOf(run, s.attribute, s.examples);
    const amounts = Array.from({ length: s.steps }, (_, i) => (s.amount * i) / (s.steps - 1));
    const images = editExamples(run, vector, s.split, s.indices, amounts);
    const labels = run.exp.dataset[s.split].labels;
    const rowLabels = s.indices.map((i) => `${s.split} ${i}${labels ? ` (${run.classNames[labels[i]!] ?? labels[i]})` : ''}`);
    const grid = labelledGrid(images, { columns: s.steps, title: `edit: ${attribute.name}`, rowLabels, columnLabels: amounts.map(shortNumber) });
    const what =
      attribute.kind === 'change'
        ? `mean code of class ${run.classNames[attribute.to]} minus mean code of class ${run.classNames[attribute.from]}`
        : `mean code of class ${run.classNames[attribute.label]} minus mean code of the other classes`;
    savePicture(
      run,
      `edit-${attribute.name.replace(/[^\w.-]+/g, '_')}-${s.split}${s.indices.join('_')}.png`,
      grid,
      `Attribute edit '${attribute.name}': the attribute vector (${what}, over the first ${Math.min(s.examples, labelsOf(run, 'train', 'edit').length)} training examples) added to each example's posterior mean with the amounts under the columns (0 = the reconstruction), decoded.`,
      io,
    );
    images.dispose();
    return 0;
  } finally {
    run.dispose();
  }
}
