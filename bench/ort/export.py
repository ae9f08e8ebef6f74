#!/usr/bin/python3
"""Exports the random base-sized model that tools/reference/w2v2_fixtures.py
--base wrote (its model.safetensors) to ONNX with torch.onnx.export, from
torchaudio's wav2vec2_base with the same weights, for onnxruntime.

  /usr/bin/python3 bench/ort/export.py BASE_DIR OUT.onnx
"""
import json
import struct
import sys

import torch
import torchaudio


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[b:end]), dtype=torch.float32).reshape(e["shape"])
    return out


def ta_key(k):
    if k.startswith("lm_head."):
        return "aux." + k[len("lm_head."):]
    k = k[len("wav2vec2."):]
    if k.startswith("feature_extractor."):
        return k
    if k.startswith("feature_projection."):
        return "encoder." + k
    if k.startswith("encoder."):
        return "encoder.transformer." + k[len("encoder."):]
    return None


def main(src, out):
    model = torchaudio.models.wav2vec2_base(aux_num_out=32)
    state = {ta_key(k): v for k, v in read_safetensors(src + "/model.safetensors").items() if ta_key(k)}
    model.load_state_dict(state)
    model.eval()
    x = torch.zeros(1, 160000)
    torch.onnx.export(model, (x,), out, input_names=["audio"], output_names=["logits"], opset_version=14,
                      dynamic_axes={"audio": {0: "batch", 1: "samples"}, "logits": {0: "batch", 1: "frames"}})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
