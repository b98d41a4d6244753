import * as tf from '@tensorflow/tfjs';
import {
  type Decoder,
  type Distribution,
  type Encoder,
  type Forward,
  type Likelihood,
  type PosteriorFamily,
  type Prior,
  type RandomStream,
  assertShape,
} from '@vaelab/core';

export interface VaeParts {
  encoder: Encoder;
  posterior: PosteriorFamily;
  decoder: Decoder;
  likelihood: Likelihood;
  prior: Prior;
  latentDim: number;
  dataShape: number[];
}

/**
 * The composition x -> q(z|x) -> z -> p(x|z), with the prior alongside. It owns nothing itself;
 * each part owns its variables. `namedVariables` gives stable names for checkpoints.
 */
export class VaeModel {
  constructor(readonly parts: VaeParts) {}

  /** x: [batch, ...dataShape]. Draws one z ~ q (reparameterized when possible) from `noise`. */
  forward(x: tf.Tensor, noise: RandomStream, cond?: tf.Tensor): Forward {
    const { encoder, posterior, decoder, likelihood, prior, dataShape } = this.parts;
    assertShape('model input', 'x', x.shape.slice(1), dataShape);
    const batch = x.shape[0]!;
    const qParams = encoder.apply(x, cond);
    const q = posterior.distribution(qParams);
    const z = q.rsample ? q.rsample(noise) : q.sample(noise);
    const decode = (zz: tf.Tensor): Distribution => likelihood.distribution(decoder.apply(zz, cond));
    const pParams = decoder.apply(z, cond);
    assertShape('decoder', 'output', pParams.shape.slice(1), likelihood.paramShape(dataShape));
    const px = likelihood.distribution(pParams);
    const fwd: Forward = { x, qParams, q, z, pParams, px, prior: prior.distribution(batch), decode, extras: {} };
    return cond ? { ...fwd, cond } : fwd;
  }

  /** Trainable variables in a fixed order: encoder, posterior, decoder, likelihood, prior. */
  namedVariables(): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const part of ['encoder', 'posterior', 'decoder', 'likelihood', 'prior'] as const) {
      this.parts[part].variables.forEach((v, i) => out.push([`${part}/${i}`, v]));
    }
    return out;
  }

  get variables(): tf.Variable[] {
    return this.namedVariables().map(([, v]) => v);
  }

  dispose(): void {
    for (const part of ['encoder', 'posterior', 'decoder', 'likelihood', 'prior'] as const) this.parts[part].dispose();
  }
}
