"""What serving a shipped entry costs, measured in process on this machine (TF Serving runs the same graphs):

- `sweep`: ms per `serving_default` call and samples/s at batch sizes 1 to 256, from which
  `tools/serving_config.py` chooses `batching_parameters.txt`;
- `first_request`: in a fresh process each, `tf.saved_model.load` and the first call of a signature at a served
  batch size, cold, or after replaying the version's warmup file as TF Serving does when it loads a version;
- `payload`: bytes per sample of REST requests and responses: `serving_default`'s z in and floats out, `seed`'s
  scalars in, `png`'s base64 PNG files out.

    python tools/serving_benchmark.py --entry dcgan_fashion_mnist --output runs/serving.json   # ~8 minutes on 2 busy cores
"""

import argparse
import base64
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf

from tfgan_zoo import paths, signatures

SWEEP_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
FIRST_REQUESTS = [("serving_default", 1), ("serving_default", 64), ("png", 1), ("png", 64)]


def cpu():
    """The CPU as `lscpu` names it, its cores and which of AVX-512, AVX512-BF16 and AMX it has."""
    info = open("/proc/cpuinfo").read()
    model = re.search(r"model name\s*:\s*(.*)", info)
    extensions = [name for name in ("avx512f", "avx512_bf16", "amx_bf16") if f" {name}" in info]
    return f"{model.group(1) if model else platform.processor()}, {os.cpu_count()} cores ({', '.join(extensions)})"


def load(entry):
    """`(card, version folder, loaded SavedModel)` of the newest version of `entry`."""
    folder = paths.resolve(entry)
    card = json.loads((folder / paths.CARD_FILE).read_text())
    version = folder / str(card["version"])
    return card, version, tf.saved_model.load(str(version))


def call(signature, inputs):
    specs = signature.structured_input_signature[1]
    return signature(**{name: tf.constant(value, specs[name].dtype) for name, value in inputs.items()})


def sweep(entry, seconds=3.0):
    """{batch: {"p50_ms", "samples_per_s"}} of `serving_default`, each batch size called for about `seconds`."""
    card, _, saved_model = load(entry)
    serving = saved_model.signatures["serving_default"]
    figures = {}
    for n in SWEEP_BATCH_SIZES:
        inputs = signatures.example_inputs(card, n, seed=0)
        for _ in range(3):  # this shape's kernels, before timing
            call(serving, inputs)
        times, start = [], time.perf_counter()
        while time.perf_counter() - start < seconds or len(times) < 5:
            begin = time.perf_counter()
            call(serving, inputs)["samples"].numpy()
            times.append(time.perf_counter() - begin)
        p50 = statistics.median(times)
        figures[n] = {"p50_ms": p50 * 1000, "samples_per_s": n / p50}
    return figures


def first_request(entry, signature, n, warm):
    """Seconds of `tf.saved_model.load`, of the warmup replay (0 when cold) and of the first call of `signature`
    at batch `n`, in this process."""
    from tensorflow_serving.apis import prediction_log_pb2  # the serving extra: to read the file as TF Serving does

    folder = paths.resolve(entry)
    card = json.loads((folder / paths.CARD_FILE).read_text())
    version = folder / str(card["version"])
    inputs = signatures.example_inputs(card, n, seed=1)  # the client's part, outside the timings
    start = time.perf_counter()
    saved_model = tf.saved_model.load(str(version))
    loaded = time.perf_counter()
    if warm:
        for record in tf.data.TFRecordDataset(str(version / "assets.extra" / signatures.WARMUP_FILE)):
            request = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
            replayed = {name: tf.make_ndarray(tensor) for name, tensor in request.inputs.items()}
            call(saved_model.signatures[request.model_spec.signature_name], replayed)
    warmed = time.perf_counter()
    calls = []
    for _ in range(2):
        begin = time.perf_counter()
        next(iter(call(saved_model.signatures[signature], inputs).values())).numpy()
        calls.append(time.perf_counter() - begin)
    return {
        "load_s": loaded - start,
        "warmup_s": warmed - loaded,
        "first_ms": calls[0] * 1000,
        "second_ms": calls[1] * 1000,
    }


def payload(entry, n=16):
    """Bytes per sample of REST JSON bodies: the requests of `serving_default` and `seed`, the responses of
    `serving_default` and `png`, and the PNG files alone."""
    card, _, saved_model = load(entry)
    inputs = signatures.example_inputs(card, n, seed=0)
    samples = call(saved_model.signatures["serving_default"], inputs)["samples"].numpy()
    files = call(saved_model.signatures["png"], inputs)["png_bytes"].numpy()
    seed_request = {"seed": 0, "num": n, "truncation": 1.0, **{k: v.tolist() for k, v in inputs.items() if k != "z"}}

    def size(value):
        return len(json.dumps(value)) / n

    return {
        "request_serving_default": size({"signature_name": "serving_default", "inputs": {"z": inputs["z"].tolist()}}),
        "request_seed": size({"signature_name": "seed", "inputs": seed_request}),
        "response_serving_default": size({"outputs": samples.tolist()}),
        "response_png": size({"outputs": [{"b64": base64.b64encode(f).decode()} for f in files]}),
        "png_file": float(np.mean([len(f) for f in files])),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entry", default="dcgan_fashion_mnist", help="a shipped image entry")
    parser.add_argument("--output", help="also write the figures as JSON here")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per first-request figure")
    parser.add_argument("--first_request", nargs=3, metavar=("SIGNATURE", "N", "WARM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_request:  # a worker: one fresh process per measurement
        signature, n, warm = args.first_request
        print(json.dumps(first_request(args.entry, signature, int(n), warm == "warm")))
        return

    # Other work on the machine slows every figure: the load average says how busy it was.
    figures = {"entry": args.entry, "cpu": cpu(), "load_average": os.getloadavg()[0]}
    figures.update(sweep=sweep(args.entry), payload=payload(args.entry))
    print(f"{args.entry} on {figures['cpu']}, load average {figures['load_average']:.1f}")
    print("\nserving_default, in process:\n  batch   p50 ms   samples/s")
    for n, m in figures["sweep"].items():
        print(f"  {n:5d} {m['p50_ms']:8.2f} {m['samples_per_s']:11.0f}")
    figures["first_request"] = {}
    for signature, n in FIRST_REQUESTS:
        for warm in ("cold", "warm"):
            runs = []
            for _ in range(args.repeats):
                command = [sys.executable, __file__, "--entry", args.entry, "--first_request", signature, str(n), warm]
                result = subprocess.run(command, capture_output=True, text=True, check=True)
                runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
            figures["first_request"][f"{signature}@{n} {warm}"] = {
                key: statistics.median(run[key] for run in runs) for key in runs[0]
            }
    print("\nfirst request after tf.saved_model.load, median of fresh processes:")
    print("  request                     load s  warmup s  first ms  second ms")
    for name, m in figures["first_request"].items():
        print(f"  {name:<26} {m['load_s']:7.2f} {m['warmup_s']:9.2f} {m['first_ms']:9.1f} {m['second_ms']:10.1f}")
    print("\nREST bytes per sample: " + ", ".join(f"{k} {v:.0f}" for k, v in figures["payload"].items()))
    if args.output:
        with open(args.output, "w") as f:
            json.dump(figures, f, indent=1)
        print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
