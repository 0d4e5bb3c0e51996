"""TF Serving's config files for the zoo, written into the models folder so that one mount serves it all:

- `models.config`: every entry, each with a `specific` version policy over its two newest versions, labelled
  `stable` (the one before) and `canary` (the newest); clients pick one with `model_spec.version_label`;
- `batching_parameters.txt`: server-side batching chosen from `tools/serving_benchmark.py`'s batch-size sweep;
- `monitoring.config`: Prometheus metrics at /monitoring/prometheus/metrics.

    python tools/serving_benchmark.py --output runs/serving.json
    python tools/serving_config.py --sweep runs/serving.json            # all three files, in saved_models/
    python tools/serving_config.py                                       # models.config and monitoring.config
"""

import argparse
import json
import math
import os
import pathlib

from tfgan_zoo import paths, signatures

MONITORING_PATH = "/monitoring/prometheus/metrics"
NEAR_BEST = 0.9  # a batch size within this fraction of the best throughput gains little by growing
QUEUE_SECONDS = 1.0  # queued work beyond this is refused (UNAVAILABLE) rather than kept waiting


def models_config(entries, base_path="/models"):
    """The text of a `ModelServerConfig` serving `entries` (entry folders) from `<base_path>/<entry>`."""
    blocks = []
    for entry in entries:
        versions = paths.versions(entry)[-2:]
        stable, canary = versions[0], versions[-1]
        policy = " ".join(f"versions: {version}" for version in versions)
        blocks.append(
            "  config {\n"
            f'    name: "{entry.name}"\n'
            f'    base_path: "{base_path}/{entry.name}"\n'
            '    model_platform: "tensorflow"\n'
            f"    model_version_policy {{ specific {{ {policy} }} }}\n"
            f'    version_labels {{ key: "stable" value: {stable} }}\n'
            f'    version_labels {{ key: "canary" value: {canary} }}\n'
            "  }\n"
        )
    return "model_config_list {\n" + "".join(blocks) + "}\n"


def batching_parameters(sweep, threads=None, served=signatures.SERVED_BATCH_SIZES):
    """`BatchingParameters` as {field: value} from a sweep {batch: {"p50_ms", "samples_per_s"}}:

    - `max_batch_size`: the smallest served batch size (the warmup's, `signatures.SERVED_BATCH_SIZES`) whose
      throughput is within `NEAR_BEST` of the best measured: beyond it a batch only waits longer;
    - `allowed_batch_sizes`: the served sizes up to it, which the warmup file has warmed;
    - `batch_timeout_micros`: the time one full batch takes, so that waiting for company at most doubles a lone
      request's latency;
    - `num_batch_threads`: the cores; `max_enqueued_batches`: `QUEUE_SECONDS` of full batches on them.
    """
    sweep = {int(n): m for n, m in sweep.items()}
    best = max(m["samples_per_s"] for m in sweep.values())
    measured = [n for n in served if n in sweep]
    largest = next((n for n in measured if sweep[n]["samples_per_s"] >= NEAR_BEST * best), measured[-1])
    threads = threads or os.cpu_count()
    batch_ms = sweep[largest]["p50_ms"]
    return {
        "max_batch_size": largest,
        "batch_timeout_micros": round(batch_ms * 1000),
        "max_enqueued_batches": max(1, math.ceil(QUEUE_SECONDS * 1000 / batch_ms * threads)),
        "num_batch_threads": threads,
        "allowed_batch_sizes": [n for n in served if n <= largest],
    }


def batching_text(parameters, sweep, about):
    """The text proto of `parameters`, headed by the sweep it was chosen from as comments."""
    lines = [f"# Chosen by tools/serving_config.py from a sweep of {about}:"]
    lines += [f"#   batch {n:>4}: {m['p50_ms']:8.2f} ms, {m['samples_per_s']:8.0f} samples/s" for n, m in sweep.items()]
    for field, value in parameters.items():
        if field == "allowed_batch_sizes":
            lines += [f"{field}: {n}" for n in value]
        else:
            lines.append(f"{field} {{ value: {value} }}")
    return "\n".join(lines) + "\n"


def monitoring_text():
    return f'prometheus_config {{\n  enable: true\n  path: "{MONITORING_PATH}"\n}}\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="saved_models", help="the models folder TF Serving mounts")
    parser.add_argument("--base_path", default="/models", help="where the server sees that folder")
    parser.add_argument("--sweep", help="tools/serving_benchmark.py's JSON: also write batching_parameters.txt")
    args = parser.parse_args()
    output = pathlib.Path(args.output)
    entries = sorted(entry for entry in output.glob(f"*/{paths.CARD_FILE}") if entry.parent.name != paths.EVALUATORS)
    written = {"models.config": models_config([entry.parent for entry in entries], args.base_path)}
    written["monitoring.config"] = monitoring_text()
    if args.sweep:
        figures = json.loads(pathlib.Path(args.sweep).read_text())
        about = f"{figures['entry']}'s serving_default on {figures['cpu']}"
        about += f", load average {figures['load_average']:.1f}" if "load_average" in figures else ""
        written["batching_parameters.txt"] = batching_text(
            batching_parameters(figures["sweep"]), figures["sweep"], about
        )
    for name, text in written.items():
        (output / name).write_text(text)
        print(f"Wrote {output / name}")


if __name__ == "__main__":
    main()
