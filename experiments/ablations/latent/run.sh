#!/bin/sh
# The latent-size ablation: 5 latent sizes × 3 seeds on MNIST, evaluated for active units, then its table and plots.
# Run from the repository root: sh experiments/ablations/latent/run.sh
set -e
out=runs/ablations/latent
npx vaelab train -m experiment=mnist_vae latent_dim=2,5,10,20,50 seed=1,2,3 \
  data.train_limit=10000 trainer.epochs=3 --jobs 2 --out "$out" || true   # exit code = number of failed jobs
sweep=$(ls -d "$out"/mnist_vae/*/ | tail -n 1)
# Active units (Burda et al. 2016: Cov_x E_q[z_j] > 0.01) on the first 2,000 test images; K = 1 is
# enough for that (the log-likelihood estimate is not used here). Two evaluations at a time.
grep -l '"state": "completed"' "$sweep"*/status.json | xargs -n 1 dirname |
  xargs -P 2 -I{} npx vaelab eval {} --iw-samples 1 --limit 2000 --quiet > /dev/null
npx vaelab results "$sweep" --metrics test_loss,test.reconstruction,test.kl,eval.active_units \
  --csv experiments/ablations/latent/results.csv \
  --plot test_loss --x latent_dim --plot-dir experiments/ablations/latent \
  --title 'Test loss (−ELBO, nats) against latent size, MNIST, mean ± std over 3 seeds'
npx vaelab results "$sweep" --plot eval.active_units --x latent_dim --plot-dir experiments/ablations/latent \
  --title 'Active units (of latent_dim) against latent size, mean ± std over 3 seeds' > /dev/null
