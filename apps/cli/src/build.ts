import * as tf from '@tensorflow/tfjs';
import {
  type ComponentKind,
  type ComponentRegistry,
  ComponentConfigError,
  type Dataset,
  type Objective,
  RandomStreams,
  type BackendSelection,
  VaeLabError,
  reportsBitsPerDim,
  selectBackend,
  withValidation,
} from '@vaelab/core';
import { batchInput } from '@vaelab/trainers';
import { validate } from '@vaelab/config';
import { VaeModel } from '@vaelab/objectives';
import { type RunConfig, runConfigSchema } from './schema.js';

export interface Experiment {
  config: RunConfig;
  backend: BackendSelection;
  streams: RandomStreams;
  dataset: Dataset;
  model: VaeModel;
  objective: Objective;
  optimizer: tf.Optimizer;
  dispose(): void;
}

const COMPONENT_PATHS: [ComponentKind, keyof RunConfig | 'trainer.optimizer'][] = [
  ['data', 'data'],
  ['encoder', 'encoder'],
  ['decoder', 'decoder'],
  ['prior', 'prior'],
  ['posterior', 'posterior'],
  ['likelihood', 'likelihood'],
  ['objective', 'objective'],
  ['optimizer', 'trainer.optimizer'],
];

/**
 * Check a resolved config completely — its own schema and every component's options — without
 * creating anything, so that bad input fails before a run folder exists.
 */
export function checkConfig(raw: unknown, registry: ComponentRegistry, file?: string): RunConfig {
  const config = validate(runConfigSchema, raw, file ? { file } : {});
  for (const [kind, path] of COMPONENT_PATHS) {
    const block = path === 'trainer.optimizer' ? config.trainer.optimizer : config[path];
    registry.resolve(kind, block, path);
  }
  return config;
}

/**
 * One forward pass and loss on two training examples, before any run folder exists: shape
 * mismatches between data, networks and distributions surface here as errors that name the
 * component and the shapes. It draws from its own stream, so the run's streams are untouched.
 */
function preflight(dataset: Dataset, model: VaeModel, objective: Objective, streams: RandomStreams): void {
  const noise = streams.stream('preflight');
  const n = Math.min(2, dataset.train.size);
  if (n === 0) throw new VaeLabError('data: the training split is empty');
  // With validation on, distributions check their parameters' values (σ > 0, probabilities in
  // [0, 1]) once, here, rather than on every step.
  withValidation(() =>
    tf.tidy(() => {
      model.setStep(0);
      const x = batchInput(dataset, dataset.train, Array.from({ length: n }, (_, i) => i), noise, true);
      // training: false, so that the objective's training-only updates (a VQ codebook's EMA
      // statistics, dead-code resets) do not run before training starts.
      objective.loss(model.forward(x, noise), { step: 0, epoch: 0, training: false, noise });
    }),
  );
}

/**
 * Select the backend and create every component from a checked config. The encoder's output and
 * the decoder's output are sized from what the posterior and the likelihood say they need.
 */
export async function buildExperiment(
  config: RunConfig,
  registry: ComponentRegistry,
  cwd: string,
  log: (line: string) => void,
): Promise<Experiment> {
  const backend = await selectBackend(config.backend, log);
  const streams = new RandomStreams(config.seed);
  const base = { streams, cwd };
  const dataset = await registry.build('data', config.data, base, 'data');
  const dataShape = dataset.shape;
  const latentDim = config.latent_dim;
  const posterior = registry.build('posterior', config.posterior, { ...base, latentDim }, 'posterior');
  const likelihood = registry.build('likelihood', config.likelihood, { ...base, dataShape, levels: dataset.levels }, 'likelihood');
  if (likelihood.checkData) {
    for (const [split, data] of [['train', dataset.train], ['test', dataset.test]] as const) {
      try {
        likelihood.checkData(data.x, { split, dataset: dataset.name, levels: dataset.levels });
      } catch (e) {
        likelihood.dispose();
        posterior.dispose();
        throw e;
      }
    }
  }
  const objective = registry.build('objective', config.objective, { ...base, dataShape, latentDim, discrete: reportsBitsPerDim(likelihood, dataset.levels) }, 'objective');
  if (objective.needsReparameterization && !posterior.reparameterized) {
    throw new ComponentConfigError(
      `objective '${config.objective.name}' needs reparameterized samples, but posterior '${config.posterior.name}' has none`,
      'objective',
    );
  }
  const encoder = registry.build(
    'encoder',
    config.encoder,
    { ...base, inputShape: dataShape, outputShape: posterior.paramShape({ dim: latentDim }) },
    'encoder',
  );
  const decoder = registry.build(
    'decoder',
    config.decoder,
    { ...base, latentDim, outputShape: likelihood.paramShape(dataShape) },
    'decoder',
  );
  const prior = registry.build('prior', config.prior, { ...base, latentDim, dataShape }, 'prior');
  const model = new VaeModel({ encoder, posterior, decoder, likelihood, prior, latentDim, dataShape }, config.posterior.name);
  const optimizer = registry.build('optimizer', config.trainer.optimizer, base, 'trainer.optimizer');
  try {
    preflight(dataset, model, objective, streams);
  } catch (e) {
    model.dispose();
    optimizer.dispose();
    throw e;
  }
  return {
    config,
    backend,
    streams,
    dataset,
    model,
    objective,
    optimizer,
    dispose() {
      model.dispose();
      optimizer.dispose();
    },
  };
}
