#!/bin/sh
# The β-VAE rate–distortion ablation: 6 values of β × 3 seeds on MNIST, then its table and plots.
# Run from the repository root: sh experiments/ablations/beta/run.sh
set -e
out=runs/ablations/beta
npx vaelab train -m experiment=mnist_vae objective=beta_vae objective.beta=0.25,0.5,1,2,4,8 seed=1,2,3 \
  data.train_limit=10000 trainer.epochs=3 --jobs 2 --out "$out" || true   # exit code = number of failed jobs
sweep=$(ls -d "$out"/mnist_vae/*/ | tail -n 1)
npx vaelab results "$sweep" --metrics test_loss,test.reconstruction,test.kl \
  --csv experiments/ablations/beta/results.csv \
  --plot test.kl --x test.reconstruction --color objective.beta --plot-dir experiments/ablations/beta \
  --title 'Rate (KL) against distortion (reconstruction), MNIST test set, mean ± std over 3 seeds'
npx vaelab results "$sweep" --metrics test_loss --curves loss --color objective.beta --plot-dir experiments/ablations/beta
