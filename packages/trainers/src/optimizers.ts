import * as tf from '@tensorflow/tfjs-core';
import { defineComponent } from '@vaelab/core';
import { z } from 'zod';
import { FusedAdamOptimizer } from './fused-adam.js';
import { FusedRmspropOptimizer } from './fused-rmsprop.js';
import { FusedSgdOptimizer } from './fused-sgd.js';

const lr = z.number().positive().default(1e-3).describe('learning rate');
const fused = z
  .union([z.boolean(), z.literal('auto')])
  .default('auto')
  .describe(
    "one pass per variable instead of several tfjs kernels (same float32 results). 'auto' (default): fused on the wasm backend, where it is faster, and tfjs's own optimizer on the others (on tensorflow/GPU the fused JavaScript path would copy every variable off the device each step)",
  );

/** Whether a `fused` option means the fused optimizer on the active backend. */
export function useFused(option: boolean | 'auto'): boolean {
  return option === 'auto' ? tf.getBackend() === 'wasm' : option;
}

export const adam = defineComponent({
  kind: 'optimizer',
  name: 'adam',
  description:
    'Adam (Kingma & Ba 2015). epsilon defaults to 1e-8, as in PyTorch and the paper. fused (default auto: on the wasm backend) updates each variable in one pass (a WebAssembly SIMD kernel), with the same float32 results as tf.train.adam.',
  schema: z.object({
    lr,
    beta1: z.number().min(0).lt(1).default(0.9).describe('decay of the first-moment estimate'),
    beta2: z.number().min(0).lt(1).default(0.999).describe('decay of the second-moment estimate'),
    epsilon: z.number().positive().default(1e-8).describe('added to the denominator'),
    fused,
  }),
  create: (o) => (useFused(o.fused) ? new FusedAdamOptimizer(o.lr, o.beta1, o.beta2, o.epsilon) : tf.train.adam(o.lr, o.beta1, o.beta2, o.epsilon)),
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
    if (useFused(o.fused)) return new FusedSgdOptimizer(o.lr, o.momentum, o.nesterov);
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
  create: (o) => (useFused(o.fused) ? new FusedRmspropOptimizer(o.lr, o.decay, o.momentum, o.epsilon) : tf.train.rmsprop(o.lr, o.decay, o.momentum, o.epsilon)),
});
