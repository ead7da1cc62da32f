"""A small training job: fit y = 3x + 2 by gradient descent with numpy, then save the model under AIP_MODEL_DIR.

Vertex AI sets AIP_MODEL_DIR (a gs:// path under the job's base output directory); when it is not set, the model
is written to ./model. Arguments come from the queue config's container_spec.args.
"""

import argparse
import json
import os

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    args = parser.parse_args()

    rng = np.random.default_rng(seed=0)
    x = rng.uniform(-1.0, 1.0, size=256)
    y = 3.0 * x + 2.0 + rng.normal(0.0, 0.05, size=x.shape)

    w, b = 0.0, 0.0
    for epoch in range(1, args.epochs + 1):
        error = w * x + b - y
        w -= args.learning_rate * 2.0 * float(np.mean(error * x))
        b -= args.learning_rate * 2.0 * float(np.mean(error))
        print(f"epoch {epoch}/{args.epochs} loss={float(np.mean(error**2)):.4f} w={w:.3f} b={b:.3f}", flush=True)

    model_dir = os.environ.get("AIP_MODEL_DIR", "model")
    model = json.dumps({"w": w, "b": b})
    if model_dir.startswith("gs://"):
        # On Vertex AI, Cloud Storage is mounted under /gcs (Cloud Storage FUSE).
        model_dir = "/gcs/" + model_dir[len("gs://") :]
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "model.json"), "w", encoding="utf-8") as f:
        f.write(model)
    print(f"saved model {model} to {model_dir}", flush=True)


if __name__ == "__main__":
    main()
