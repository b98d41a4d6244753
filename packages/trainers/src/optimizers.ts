import * as tf from '@tensorflow/tfjs-core';
import { defineComponent } from '@vaelab/core';
import { z } from 'zod';
import { FusedAdamOptimizer } from './fused-adam.js';
import { FusedRmspropOptimizer } from './fused-rmsprop.js';
import { FusedSgdOptimizer } from './fused-sgd.js';

const lr = z.number().positive().default(1e-3).describe('learning rate');
const fused = z
  .boolean()
  .default(false)
  .describe("one pass per variable instead of several tfjs kernels (same float32 results; fastest on the wasm backend)");

export const adam = defineComponent({
  kind: 'optimizer',
  name: 'adam',
  description:
    'Adam (Kingma & Ba 2015). epsilon defaults to 1e-8, as in PyTorch and the paper. fused: true updates each variable in one pass (a WebAssembly SIMD kernel on the wasm backend), with the same float32 results as tf.train.adam.',
  schema: z.object({
    lr,
    beta1: z.number().min(0).lt(1).default(0.9).describe('decay of the first-moment estimate'),
    beta2: z.number().min(0).lt(1).default(0.999).describe('decay of the second-moment estimate'),
    epsilon: z.number().positive().default(1e-8).describe('added to the denominator'),
    fused,
  }),
  create: (o) => (o.fused ? new FusedAdamOptimizer(o.lr, o.beta1, o.beta2, o.epsilon) : tf.train.adam(o.lr, o.beta1, o.beta2, o.epsilon)),
});

export const sgd = defineComponent({
  kind: 'optimizer',
  name: 'sgd',
  description: 'Stochastic gradient descent, with optional (heavy-ball or Nesterov) momentum.',
  schema: z.object({
    lr: z.number().positive().default(1e-2).describe('learning rate'),
    momentum: z.number().min(0).lt(1).default(0).describe('momentum; 0 for plain SGD'),
    nesterov: z.boolean().default(false).describe('Nesterov momentum'),
    fused,
  }),
  create: (o) => {
    if (o.fused) return new FusedSgdOptimizer(o.lr, o.momentum, o.nesterov);
    return o.momentum > 0 ? tf.train.momentum(o.lr, o.momentum, o.nesterov) : tf.train.sgd(o.lr);
  },
});

export const rmsprop = defineComponent({
  kind: 'optimizer',
  name: 'rmsprop',
  description: 'RMSProp (Tieleman & Hinton 2012).',
  schema: z.object({
    lr,
    decay: z.number().min(0).lt(1).default(0.9).describe('decay of the squared-gradient average'),
    momentum: z.number().min(0).lt(1).default(0).describe('momentum'),
    epsilon: z.number().positive().default(1e-8).describe('added to the denominator'),
    fused,
  }),
  create: (o) => (o.fused ? new FusedRmspropOptimizer(o.lr, o.decay, o.momentum, o.epsilon) : tf.train.rmsprop(o.lr, o.decay, o.momentum, o.epsilon)),
});
