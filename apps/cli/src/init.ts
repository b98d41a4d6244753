import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { VaeLabError } from '@vaelab/core';
import type { Io } from './io.js';

/*
 * `vaelab init [dir]`: a project that runs as written. Its experiment takes most groups from the
 * ones built into @vaelab/cli, one from the project's own conf/ folder, and that one builds a
 * component the project defines in a plugin, so each way of extending VAE Lab has an example.
 */

export class InitConflictError extends VaeLabError {}

const PROJECT_CONFIG = `# Project settings for the vaelab command (found by cosmiconfig, searching up from the working folder).
config_dir: conf      # this project's config groups; searched before the groups built into @vaelab/cli
out_dir: runs         # run folders go to runs/<experiment>/<timestamp>/
plugins: [./plugins/my-prior.mjs]   # modules exporting \`components\`: each becomes usable from config by name
`;

const EXPERIMENT = `# A seconds-long experiment on generated 8x8 images. Every group but \`prior\` comes from the
# groups built into @vaelab/cli (\`npx vaelab list groups\` shows them and where each comes from);
# \`prior: my_prior\` is this project's conf/prior/my_prior.yaml.
defaults:
  - data: synthetic
  - encoder: mlp
  - decoder: mlp
  - prior: my_prior
  - posterior: diagonal_gaussian
  - likelihood: bernoulli
  - objective: elbo
  - trainer: adam
  - _self_

name: my_experiment
seed: 1
backend: auto
latent_dim: 4
encoder:
  hidden: [32]
decoder:
  hidden: [32]
trainer:
  epochs: 3
  batch_size: 32
  eval_batch_size: 256
`;

const PRIOR_OPTION = `# The prior group's option \`my_prior\`, added by this project: it builds the \`scaled_normal\`
# component defined in plugins/my-prior.mjs.
name: scaled_normal
scale: 1.5
`;

const PLUGIN = `// A prior defined by this project: p(z) = N(0, scale² I). Listed under \`plugins\` in
// vaelab.config.yaml, so config files can name it (\`prior.name: scaled_normal\`) like a built-in one.
import * as tf from '@tensorflow/tfjs-core';
import { Normal, defineComponent } from '@vaelab/core';
import { z } from 'zod';

export const scaledNormal = defineComponent({
  kind: 'prior',
  name: 'scaled_normal',
  description: 'Normal prior N(0, scale² I) with a fixed scale (a project plugin).',
  schema: z.object({ scale: z.number().positive().default(1).describe('standard deviation of every latent dimension') }),
  create: (options, ctx) => ({
    variables: [], // nothing to learn
    // z: [batch, latentDim]
    distribution: (batch) =>
      new Normal(tf.zeros([batch, ctx.latentDim]), tf.fill([batch, ctx.latentDim], options.scale), 1, tf.fill([batch, ctx.latentDim], Math.log(options.scale))),
    dispose() {},
  }),
});

export const components = [scaledNormal];
`;

const README = `# A VAE Lab project

Made by \`vaelab init\`. It needs \`@vaelab/cli\` installed in this folder or above
(\`npm install --save-dev @vaelab/cli\`); the plugin imports \`@vaelab/core\`, \`@tensorflow/tfjs\` and
\`zod\`, which come with it (list them in your package.json when you depend on them directly).

\`\`\`sh
npx vaelab train experiment=my_experiment                  # train; the run folder goes to runs/my_experiment/
npx vaelab train experiment=my_experiment prior.scale=3    # change a value
npx vaelab train experiment=my_experiment prior=standard_normal   # another option of a group
npx vaelab train experiment=my_experiment --cfg            # print the resolved config
npx vaelab list groups                                     # every group and option: this project's or built in
npx vaelab list experiments
npx vaelab list prior                                      # prior components, with scaled_normal from the plugin
npx vaelab eval runs/my_experiment/<timestamp>             # importance-sampled log-likelihood and more
\`\`\`

| file | what it is |
| --- | --- |
| \`vaelab.config.yaml\` | project settings: config folder, run folder, plugins |
| \`conf/experiment/my_experiment.yaml\` | the experiment: a \`defaults:\` list of group options, then its own values |
| \`conf/prior/my_prior.yaml\` | an option of the \`prior\` group that only this project has |
| \`plugins/my-prior.mjs\` | the \`scaled_normal\` prior component, defined with \`defineComponent\` |

Groups and experiments are looked up in \`conf/\` first, then in the ones built into \`@vaelab/cli\`.
To change a built-in file, put one of the same group and name here (say \`conf/trainer/adam.yaml\`):
it replaces the built-in one; \`vaelab list groups\` marks it \`project, overrides built-in\`.
`;

/** The files `vaelab init` writes, relative to the project folder. */
export const INIT_FILES: Readonly<Record<string, string>> = {
  'vaelab.config.yaml': PROJECT_CONFIG,
  'conf/experiment/my_experiment.yaml': EXPERIMENT,
  'conf/prior/my_prior.yaml': PRIOR_OPTION,
  'plugins/my-prior.mjs': PLUGIN,
  'README.md': README,
};

/**
 * Scaffold a project in `dir` (created if missing). Writes nothing when any of the files exists
 * already, and says which. Returns the absolute paths written.
 */
export function initProject(dir: string): string[] {
  const root = resolve(dir);
  const targets = Object.keys(INIT_FILES).map((file) => join(root, ...file.split('/')));
  const existing = targets.filter((p) => existsSync(p));
  if (existing.length > 0) {
    throw new InitConflictError(
      `init: not overwriting existing files in ${root}: ${existing.map((p) => relative(root, p)).join(', ')} ` +
        `(move them away or choose another folder: vaelab init <dir>)`,
    );
  }
  for (const [i, file] of Object.keys(INIT_FILES).entries()) {
    const target = targets[i]!;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, INIT_FILES[file]!, { flag: 'wx' });
  }
  return targets;
}

/** `vaelab init [dir]`: scaffold, then say what to run. Conflicts are InitConflictError (exit 2). */
export function initCommand(dir: string | undefined, io: Io): number {
  const root = resolve(io.cwd, dir ?? '.');
  const written = initProject(root);
  io.out(`created a VAE Lab project in ${root}:`);
  for (const p of written) io.out(`  ${relative(root, p)}`);
  const cd = root === resolve(io.cwd) ? '' : `cd ${relative(io.cwd, root) || '.'} && `;
  io.out(`next: ${cd}npx vaelab train experiment=my_experiment   (see README.md)`);
  return 0;
}
