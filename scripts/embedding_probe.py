"""Linear probes on dlib face embeddings: how much age and gender they carry for our weak spots.

Gender by logistic regression, age by ridge regression on log(age + 1), both on the embedding and its
squares, fitted on a train subsample of both collections (scripts/embedding_extract.py) and read on each
collection's whole val split:

    python scripts/embedding_probe.py   # reads runs/peer/emb_{utk,aaf}_{train,val}.npz
"""

import numpy as np
import torch

from agegender.metrics import age_bucket_labels

FOLDER = "runs/peer"


def load(name: str):
    d = np.load(f"{FOLDER}/{name}.npz")
    return d["emb"].astype(np.float32), d["ages"], d["female"].astype(np.float32)


def main() -> None:
    parts = [load("emb_utk_train"), load("emb_aaf_train")]
    x, ages, female = (np.concatenate([p[i] for p in parts]) for i in range(3))
    mean, std = x.mean(0), x.std(0) + 1e-6

    def features(e):
        z = (e - mean) / std
        return np.concatenate([z, z**2 / 4, np.ones((len(z), 1), np.float32)], 1)

    z = features(x)
    w = torch.zeros(z.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=200)
    zt, ft = torch.from_numpy(z), torch.from_numpy(female)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(zt @ w, ft) + 1e-3 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    beta = np.linalg.solve(z.T @ z + 10.0 * np.eye(z.shape[1]), z.T @ np.log1p(ages))
    for name in ("emb_utk_val", "emb_aaf_val"):
        e, a, f = load(name)
        zv = features(e)
        correct = (torch.sigmoid(torch.from_numpy(zv) @ w).detach().numpy() >= 0.5) == (f > 0.5)
        pred = np.expm1(zv @ beta)
        bands = np.array(age_bucket_labels(a))
        balanced = np.mean([np.abs(pred - a)[bands == b].mean() for b in set(bands)])
        adult = (a >= 18) & (a <= 50)
        print(
            f"{name}: n {len(a)} MAE {np.abs(pred - a).mean():.2f} balanced {balanced:.2f} "
            f"gender {100 * correct.mean():.1f}% 0-12 {100 * correct[a <= 12].mean():.1f}% "
            f"18-50 {100 * correct[adult].mean():.1f}%"
        )


if __name__ == "__main__":
    main()
