"""Training throughput of the conv_vae_mnist architecture in PyTorch, beside bench/conv-throughput.mjs.

The same network as VAE Lab's conv_vae_mnist (and subpixel_vae_mnist): encoder Conv2d(1, 32, 4,
stride 2, padding 1) -> ReLU -> Conv2d(32, 64, 4, 2, 1) -> ReLU -> flatten 3136 -> Linear 256 ->
ReLU -> Linear 2*20 (mean, log-variance); decoder Linear(20, 256) -> ReLU -> Linear 7*7*64 -> ReLU
-> ConvTranspose2d(64, 32, 4, 2, 1) -> ReLU -> ConvTranspose2d(32, 1, 4, 2, 1) (transposed), or
Conv2d(64, 4*32, 3, padding 1) + PixelShuffle(2) -> ReLU -> Conv2d(32, 4*1, 3, padding 1) +
PixelShuffle(2) (subpixel); Bernoulli likelihood (BCE with logits, summed), analytic KL, Adam 1e-3,
batch 128, random inputs in [0, 1] (the values do not change the cost of a step).

Runs under Debian's python3-torch (apt-get install python3-torch libopenblas0-pthread):
    /usr/bin/python3 apps/cli/bench/pytorch_conv_vae.py [--threads 1] [--steps 30]
Writes apps/cli/bench/results/pytorch-conv-vae.json, which conv-throughput.mjs prints beside its
own figures. A benchmark only, never used by the tests or the library.
"""
import argparse
import json
import os
import time

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


class ConvVae(nn.Module):
    def __init__(self, upsample="transposed", latent=20):
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Flatten(),
            nn.Linear(3136, 256), nn.ReLU(), nn.Linear(256, 2 * latent),
        )
        self.stem = nn.Sequential(nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, 3136), nn.ReLU())
        if upsample == "transposed":
            self.up = nn.Sequential(nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, 1, 4, 2, 1))
        else:
            self.up = nn.Sequential(
                nn.Conv2d(64, 4 * 32, 3, 1, 1), nn.PixelShuffle(2), nn.ReLU(), nn.Conv2d(32, 4, 3, 1, 1), nn.PixelShuffle(2),
            )
        self.latent = latent

    def forward(self, x):
        params = self.enc(x)
        mean, logvar = params[:, : self.latent], params[:, self.latent :]
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        logits = self.up(self.stem(z).view(-1, 64, 7, 7))
        return logits, mean, logvar


def step(model, opt, x):
    logits, mean, logvar = model(x)
    loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") - 0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp())
    opt.zero_grad()
    (loss / x.shape[0]).backward()
    opt.step()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch", type=int, default=128)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    results = []
    for upsample in ["transposed", "subpixel"]:
        model = ConvVae(upsample)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.rand(args.batch, 1, 28, 28)
        for _ in range(3):
            step(model, opt, x)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step(model, opt, x)
        seconds = time.perf_counter() - t0
        r = {
            "upsample": upsample,
            "threads": args.threads,
            "batch": args.batch,
            "steps": args.steps,
            "samples_per_second": args.steps * args.batch / seconds,
            "ms_per_step": 1000 * seconds / args.steps,
            "parameters": sum(p.numel() for p in model.parameters()),
        }
        print(json.dumps(r))
        results.append(r)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "pytorch-conv-vae.json"), "w") as f:
        json.dump({"torch": torch.__version__, "results": results}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
