"""A TF Serving client for a shipped generator: builds the `:predict` request, sends it, writes a PNG.

    python tools/serving_client.py --model dcgan_fashion_mnist --num 16 --body request.json   # the REST body only
    python tools/serving_client.py --model dcgan_fashion_mnist --server http://localhost:8501 --output grid.png
    python tools/serving_client.py --model dcgan_fashion_mnist --signature seed --truncation 0.7 \
        --server http://localhost:8501 --output grid.png          # a request of a few bytes: seed, num, psi
    python tools/serving_client.py --model dcgan_fashion_mnist --signature png --server ... --output pngs/
    python tools/serving_client.py --model cgan_fashion_mnist --label 3 --grpc localhost:8500 --output grid.png

The request's z is the entry's own `latent(n, seed)` (or, with `--signature seed`, the server draws that z), so
`--seed S` gives the picture that `tfgan-zoo sample --model <entry> --seed S` draws. gRPC needs
`pip install '.[serving]'` (tensorflow-serving-api). Serving the entry: docs/serving.md.
"""

import argparse
import base64
import json
import pathlib
import sys
import urllib.error
import urllib.request

import numpy as np
import tensorflow as tf

from tfgan_zoo import plots, sampling, zoo

OUTPUTS = {"serving_default": "samples", "seed": "samples", "images": "images", "png": "png_bytes"}


def request_inputs(model, num, seed=0, labels=None, conditions=None, signature="serving_default", truncation=1.0):
    """The signature's inputs for `num` samples of `model` (a `PretrainedGenerator`), name -> numpy array: z
    (`serving_default`, `images`, `png`) or `seed`, `num` and `truncation` (`seed`), then labels and conditions.

    A conditional model without `labels` gets one row per class. For `seed`, conditions left out are drawn as
    `model.sample` draws them (`sampling.condition_values`), so that the server returns what `sample` returns.
    """
    if model.num_classes and labels is None:
        labels = plots.class_rows(model.num_classes, num)
        num = len(labels)
    if signature == "seed":
        sampling.check_truncation(truncation, model.latent_distribution)  # the server's refusal, before sending
        inputs = {"seed": np.int64(seed), "num": np.int32(num), "truncation": np.float32(truncation)}
        conditions = sampling.condition_values(model.conditions, conditions, num, seed)
    else:
        inputs = {"z": model.latent(num, tf.constant([seed, 0], tf.int64), truncation).numpy()}
    if labels is not None:
        inputs["label"] = np.broadcast_to(np.asarray(labels, np.int32), (num,))
    inputs.update({name: np.broadcast_to(np.float32(value), (num,)) for name, value in (conditions or {}).items()})
    return inputs


def rest_body(inputs, signature="serving_default"):
    """The JSON body of a REST `:predict` request, in the columnar `inputs` format."""
    return {"signature_name": signature, "inputs": {name: value.tolist() for name, value in inputs.items()}}


def rest_outputs(response, output="samples"):
    """The output tensor of a REST `:predict` response (TF Serving drops the name of a sole output); a `_bytes`
    output, which TF Serving sends as base64 (`{"b64": ...}` per value), as a list of bytes."""
    outputs = response["outputs"]
    outputs = outputs[output] if isinstance(outputs, dict) else outputs
    if output.endswith("_bytes"):
        return [base64.b64decode(value["b64"]) for value in outputs]
    return np.asarray(outputs)


def rest_predict(server, model_name, body, timeout=60):
    """POSTs `body` to `<server>/v1/models/<model_name>:predict`; returns the decoded JSON response."""
    url = f"{server.rstrip('/')}/v1/models/{model_name}:predict"
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return json.load(reply)
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{url} answered {error.code}: {error.read().decode(errors='replace')}") from None


def grpc_request(model_name, inputs, signature="serving_default"):
    """A `PredictRequest` (tensorflow-serving-api) for the signature's `inputs`."""
    from tensorflow_serving.apis import predict_pb2  # only gRPC users need tensorflow-serving-api

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


def grpc_predict(address, request, output="samples", timeout=60):
    """Sends `request` to the TF Serving gRPC port at `address` (host:port); returns the output tensor (a list of
    bytes for a string output such as `png_bytes`)."""
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=timeout)
    value = tf.make_ndarray(response.outputs[output])
    return list(value) if value.dtype == object else value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="shipped entry: a name in saved_models/ or its folder")
    parser.add_argument("--model_name", help="the model's name on the server (default: the entry's name)")
    parser.add_argument("--num", type=int, default=16, help="number of samples")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    parser.add_argument("--label", type=int, help="class of every sample (default: one row per class)")
    parser.add_argument("--condition", action="append", default=[], help="NAME=VALUE of a continuous condition")
    parser.add_argument("--signature", default="serving_default", choices=["serving_default", "seed", "png"])
    parser.add_argument("--truncation", type=float, default=1.0, help="psi in (0, 1] scaling z (1.0 = none)")
    parser.add_argument("--server", help="REST address of TF Serving, e.g. http://localhost:8501")
    parser.add_argument("--grpc", help="gRPC address of TF Serving, e.g. localhost:8500")
    parser.add_argument("--body", help="write the REST request body (JSON) here")
    parser.add_argument("--output", help="write the PNG of the served samples here (--signature png: a folder)")
    args = parser.parse_args(argv)
    if not (args.body or args.output):
        parser.error("pass --body (the request) and/or --output with --server or --grpc (the served picture)")
    if args.output and not (args.server or args.grpc):
        parser.error("--output needs --server or --grpc: the TF Serving instance that draws the samples")

    model = zoo.load_pretrained(args.model)
    if not isinstance(model, zoo.PretrainedGenerator):
        parser.error(f"{args.model} is not a shipped entry; `tfgan-zoo export` makes one from a training workdir")
    conditions = {name: float(value) for name, _, value in (text.partition("=") for text in args.condition)}
    inputs = request_inputs(model, args.num, args.seed, args.label, conditions, args.signature, args.truncation)
    model_name, output = args.model_name or model.card["name"], OUTPUTS[args.signature]
    if args.body:
        with open(args.body, "w") as f:
            json.dump(rest_body(inputs, args.signature), f)
        print(f"Wrote {args.body}")
    if args.output:
        if args.server:
            served = rest_outputs(rest_predict(args.server, model_name, rest_body(inputs, args.signature)), output)
        else:
            served = grpc_predict(args.grpc, grpc_request(model_name, inputs, args.signature), output)
        if args.signature == "png":  # the server's PNG files, one per sample
            folder = pathlib.Path(args.output)
            folder.mkdir(parents=True, exist_ok=True)
            for i, png in enumerate(served):
                (folder / f"sample_{i:04d}.png").write_bytes(png)
            print(f"Wrote {len(served)} PNG files to {folder}")
            return
        rows = model.num_classes if model.num_classes and args.label is None else None
        with open(args.output, "wb") as f:
            f.write(plots.samples_png(served, rows))
        print(f"Wrote {args.output}")


if __name__ == "__main__":
    sys.exit(main())
