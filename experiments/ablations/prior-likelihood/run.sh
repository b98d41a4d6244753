#!/bin/sh
# Priors × likelihoods on MNIST (the table of experiments/README.md) with 3 seeds, then its table and plot.
# Run from the repository root: sh experiments/ablations/prior-likelihood/run.sh
set -e
out=runs/ablations/prior-likelihood
npx vaelab train -m experiment=mnist_vae prior=standard_normal,mixture_of_gaussians,vamp \
  likelihood=bernoulli,continuous_bernoulli,gaussian_learned seed=1,2,3 \
  data.train_limit=10000 trainer.epochs=3 --jobs 2 --out "$out" || true   # exit code = number of failed jobs
sweep=$(ls -d "$out"/mnist_vae/*/ | tail -n 1)
npx vaelab results "$sweep" --metrics test_loss,test.reconstruction,test.kl \
  --csv experiments/ablations/prior-likelihood/results.csv \
  --plot test.kl --x prior --color likelihood --plot-dir experiments/ablations/prior-likelihood \
  --title 'Test KL (nats) by prior and likelihood, MNIST, mean ± std over 3 seeds'
