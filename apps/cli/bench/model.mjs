// The model every benchmark trains: the mnist_vae setup (28x28x1 grey-level images, latent 20,
// diagonal Gaussian posterior with log-variance, standard normal prior, Bernoulli likelihood,
// ELBO), with the MLP 784-400-20-400-784 networks unless others are given, and a fixed batch of
// 128 uniform images (the values do not change the cost of a step). Call after selectBackend.
const LATENT_DIM = 20;
const DATA_SHAPE = [28, 28, 1];
const MLP = { hidden: [400], activation: 'relu', init: 'uniform_fan_in' };

/**
 * `networks.encoder(inputShape, outputShape, rng)` and `networks.decoder(latentDim, outputShape, rng)`
 * replace the MLPs. Returns { model, objective, x, noise } drawn from `streams` in a fixed order.
 */
export async function benchModel(streams, networks = {}) {
  const tf = await import('@tensorflow/tfjs-core');
  const { Mlp } = await import('@vaelab/networks');
  const { DiagonalGaussianPosterior } = await import('@vaelab/posteriors');
  const { BernoulliLikelihood } = await import('@vaelab/likelihoods');
  const { StandardNormalPrior } = await import('@vaelab/priors');
  const { VaeModel, Elbo } = await import('@vaelab/objectives');
  const encoder = networks.encoder ?? ((input, output, rng) => new Mlp(input, output, MLP, rng));
  const decoder = networks.decoder ?? ((latent, output, rng) => new Mlp([latent], output, MLP, rng));
  const posterior = new DiagonalGaussianPosterior('log_var');
  const likelihood = new BernoulliLikelihood(DATA_SHAPE);
  const model = new VaeModel({
    encoder: encoder(DATA_SHAPE, posterior.paramShape({ dim: LATENT_DIM }), streams.stream('init/encoder')),
    posterior,
    decoder: decoder(LATENT_DIM, likelihood.paramShape(DATA_SHAPE), streams.stream('init/decoder')),
    likelihood,
    prior: new StandardNormalPrior(LATENT_DIM),
    latentDim: LATENT_DIM,
    dataShape: DATA_SHAPE,
  });
  const objective = new Elbo({ samples: 1, klSamples: 1 });
  const x = tf.tidy(() => streams.stream('bench').uniform([128, ...DATA_SHAPE]));
  return { model, objective, x, noise: streams.stream('noise') };
}
