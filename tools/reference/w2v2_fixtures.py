#!/usr/bin/python3
"""Reference fixtures for loading published wav2vec 2.0 / HuBERT checkpoints.

Builds tiny random models with torchaudio's own wav2vec2_model (torchaudio
0.13, Debian's python3-torchaudio) in each variant that published models
use, writes each one in exact Hugging Face layout (config.json,
model.safetensors, vocab.json, preprocessor_config.json) and in fairseq .pt
layout, and records torchaudio's outputs for fixed inputs:

  input.<n>          the normalised waveform n (zero mean, unit variance)
  features.<n>       the feature encoder's output [T, C]
  layer<i>.<n>       the output of transformer layer i [T, D]
  output.<n>         the transformer's output [T, D] (after the final layer
                     norm of pre-LN models)
  logits.<n>         the CTC head's output [T, V], for models with a head
  batch.output       the padded batch of both inputs [2, T, D], run with
                     their lengths (an attention mask)

Every parameter is random, norm gains and biases included, so a wrong
mapping cannot pass. Run from the repository root:

  /usr/bin/python3 tools/reference/w2v2_fixtures.py published/testdata

CI does not run this; its output is committed. With --base DIR it writes a
random model of wav2vec2-base's size instead (380 MB, not committed), which
the full-size test and BenchmarkWav2Vec2Base read from $W2V2_BASE.
"""

import json
import os
import struct
import sys

import torch
import torchaudio

SEED = 20261204
# The published models' feature encoder, narrowed: 7 convolutions with
# kernels 10,3,3,3,3,2,2 and strides 5,2,2,2,2,2,2 (20 ms frames).
CONV = [(16, 10, 5), (16, 3, 2), (16, 3, 2), (16, 3, 2), (16, 3, 2), (16, 2, 2), (16, 2, 2)]
VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "I", "H"]

# name: (HF architecture, model_type, feat_extract_norm, stable layer norm, head)
VARIANTS = {
    "w2v2-base-ctc": ("Wav2Vec2ForCTC", "wav2vec2", "group", False, True),
    "w2v2-large-ctc": ("Wav2Vec2ForCTC", "wav2vec2", "layer", True, True),
    "w2v2-base": ("Wav2Vec2Model", "wav2vec2", "group", False, False),
    "hubert-large-ctc": ("HubertForCTC", "hubert", "layer", True, True),
    "hubert-base": ("HubertModel", "hubert", "group", False, False),
}
PREFIX = {"Wav2Vec2ForCTC": "wav2vec2.", "Wav2Vec2Model": "", "HubertForCTC": "hubert.", "HubertModel": ""}
DIM, HEADS, FF, LAYERS, POS_K, POS_G = 32, 4, 48, 2, 16, 4


def build(norm, stable, head):
    return torchaudio.models.wav2vec2_model(
        extractor_mode=f"{norm}_norm", extractor_conv_layer_config=CONV, extractor_conv_bias=(norm == "layer"),
        encoder_embed_dim=DIM, encoder_projection_dropout=0.0, encoder_pos_conv_kernel=POS_K,
        encoder_pos_conv_groups=POS_G, encoder_num_layers=LAYERS, encoder_num_heads=HEADS,
        encoder_attention_dropout=0.0, encoder_ff_interm_features=FF, encoder_ff_interm_dropout=0.0,
        encoder_dropout=0.0, encoder_layer_norm_first=stable, encoder_layer_drop=0.0,
        aux_num_out=len(VOCAB) if head else None)


def randomise(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("weight_g"):
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)


def hf_key(key, arch):
    """torchaudio's key -> the Hugging Face key (import_huggingface_model's map, reversed)."""
    prefix = PREFIX[arch]
    if key.startswith("aux."):
        return "lm_head." + key[len("aux."):]
    if key.startswith("feature_extractor."):
        return prefix + key
    if key.startswith("encoder.feature_projection."):
        return prefix + key[len("encoder."):]
    if key.startswith("encoder.transformer."):
        return prefix + "encoder." + key[len("encoder.transformer."):]
    raise ValueError(key)


def fairseq_key(key, fine_tuned):
    """torchaudio's key -> the fairseq key (import_fairseq_model's _map_key, reversed)."""
    import re
    rules = [
        (r"feature_extractor\.conv_layers\.0\.layer_norm\.(weight|bias)$", None),
        (r"feature_extractor\.conv_layers\.(\d+)\.conv\.(weight|bias)$", r"feature_extractor.conv_layers.\1.0.\2"),
        (r"encoder\.feature_projection\.projection\.(weight|bias)$", r"post_extract_proj.\1"),
        (r"encoder\.feature_projection\.layer_norm\.(weight|bias)$", r"layer_norm.\1"),
        (r"encoder\.transformer\.pos_conv_embed\.conv\.(bias|weight_g|weight_v)$", r"encoder.pos_conv.0.\1"),
        (r"encoder\.transformer\.layer_norm\.(weight|bias)$", r"encoder.layer_norm.\1"),
        (r"encoder\.transformer\.layers\.(\d+)\.attention\.((k_|v_|q_|out_)proj\.(weight|bias))$", r"encoder.layers.\1.self_attn.\2"),
        (r"encoder\.transformer\.layers\.(\d+)\.layer_norm\.(weight|bias)$", r"encoder.layers.\1.self_attn_layer_norm.\2"),
        (r"encoder\.transformer\.layers\.(\d+)\.feed_forward\.intermediate_dense\.(weight|bias)$", r"encoder.layers.\1.fc1.\2"),
        (r"encoder\.transformer\.layers\.(\d+)\.feed_forward\.output_dense\.(weight|bias)$", r"encoder.layers.\1.fc2.\2"),
        (r"encoder\.transformer\.layers\.(\d+)\.final_layer_norm\.(weight|bias)$", r"encoder.layers.\1.final_layer_norm.\2"),
        (r"aux\.(weight|bias)$", r"proj.\1"),
    ]
    m = re.match(r"feature_extractor\.conv_layers\.(\d+)\.layer_norm\.(weight|bias)$", key)
    if m:
        # conv 0's GroupNorm is module 2; a LayerNorm sits in module 2 at index 1.
        out = f"feature_extractor.conv_layers.{m.group(1)}.2.{m.group(2)}" if NORM == "group" else \
            f"feature_extractor.conv_layers.{m.group(1)}.2.1.{m.group(2)}"
    else:
        out = None
        for pat, rep in rules[1:]:
            if re.match(pat, key):
                out = re.sub(pat, rep, key)
                break
        if out is None:
            raise ValueError(key)
    if fine_tuned:
        return "w2v_encoder." + out if out.startswith("proj.") else "w2v_encoder.w2v_model." + out
    return out


def write_safetensors(path, tensors, meta=None):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = dict(meta or {"format": "pt"})
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def hf_config(arch, model_type, norm, stable, head):
    cfg = {
        "architectures": [arch], "model_type": model_type, "hidden_size": DIM, "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS, "intermediate_size": FF, "hidden_act": "gelu", "feat_extract_norm": norm,
        "feat_extract_activation": "gelu", "conv_dim": [c[0] for c in CONV], "conv_kernel": [c[1] for c in CONV],
        "conv_stride": [c[2] for c in CONV], "conv_bias": norm == "layer", "num_conv_pos_embeddings": POS_K,
        "num_conv_pos_embedding_groups": POS_G, "do_stable_layer_norm": stable, "layer_norm_eps": 1e-5,
        "vocab_size": len(VOCAB), "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2,
        "hidden_dropout": 0.1, "attention_dropout": 0.1, "activation_dropout": 0.0, "feat_proj_dropout": 0.0,
        "layerdrop": 0.1, "mask_time_prob": 0.05, "mask_time_length": 10, "ctc_loss_reduction": "sum",
    }
    if model_type == "hubert":
        cfg["feat_proj_layer_norm"] = True
    return cfg


def inputs(gen):
    xs = []
    for n, length in enumerate([8000, 5600]):
        t = torch.arange(length, dtype=torch.float32) / 16000
        x = 0.3 * torch.sin(2 * torch.pi * (180 + 90 * n) * t) + 0.1 * torch.randn(length, generator=gen)
        x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)
        xs.append(x)
    return xs


def main(out):
    global NORM
    gen = torch.Generator().manual_seed(SEED)
    xs = inputs(gen)
    for name, (arch, model_type, norm, stable, head) in VARIANTS.items():
        NORM = norm
        model = build(norm, stable, head)
        randomise(model, gen)
        model.eval()
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        state = model.state_dict()
        hf = {hf_key(k, arch): v for k, v in state.items()}
        hf[PREFIX[arch] + "masked_spec_embed"] = torch.rand(DIM, generator=gen)
        if name == "w2v2-large-ctc":  # the newer weight-norm spelling
            p = PREFIX[arch] + "encoder.pos_conv_embed.conv."
            hf[p + "parametrizations.weight.original0"] = hf.pop(p + "weight_g")
            hf[p + "parametrizations.weight.original1"] = hf.pop(p + "weight_v")
        write_safetensors(os.path.join(d, "model.safetensors"), hf)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(hf_config(arch, model_type, norm, stable, head), f, indent=2)
        with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
            json.dump({"do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
                       "padding_side": "right", "padding_value": 0.0, "return_attention_mask": norm == "layer",
                       "sampling_rate": 16000}, f, indent=2)
        if head:
            with open(os.path.join(d, "vocab.json"), "w") as f:
                json.dump({s: i for i, s in enumerate(VOCAB)}, f)
        # fairseq layout: a dict with cfg and model, the vocabulary in dict.ltr.txt beside it.
        fs = {fairseq_key(k, head): v for k, v in state.items()}
        # As fairseq writes them: a fine-tuned model's settings hold the
        # pretraining model's under w2v_args; conv_feature_layers is a
        # Python expression.
        w2v = {"_name": model_type, "extractor_mode": "default" if norm == "group" else "layer_norm",
               "conv_feature_layers": "[(16, 10, 5)] + [(16, 3, 2)] * 4 + [(16, 2, 2)] * 2", "conv_bias": norm == "layer",
               "encoder_embed_dim": DIM, "encoder_layers": LAYERS, "encoder_attention_heads": HEADS,
               "encoder_ffn_embed_dim": FF, "conv_pos": POS_K, "conv_pos_groups": POS_G, "layer_norm_first": stable}
        if head:
            fs_cfg = {"model": {"_name": "wav2vec_ctc", "w2v_path": "pretrained.pt", "apply_mask": True,
                                "w2v_args": {"model": w2v, "task": {"_name": "audio_pretraining", "normalize": True}}},
                      "task": {"_name": "audio_finetuning", "normalize": True}}
        else:
            fs_cfg = {"model": w2v, "task": {"_name": "audio_pretraining", "normalize": True}}
        torch.save({"args": None, "cfg": fs_cfg, "model": fs, "optimizer_history": [], "extra_state": {"epoch": 1}},
                   os.path.join(d, "fairseq.pt"))
        if name == "w2v2-large-ctc":  # torch's format before 1.6
            torch.save({"args": None, "cfg": fs_cfg, "model": fs}, os.path.join(d, "fairseq-legacy.pt"),
                       _use_new_zipfile_serialization=False)
        if name == "w2v2-base":  # older fairseq files: the settings in an argparse Namespace
            import argparse
            torch.save({"args": argparse.Namespace(**w2v), "cfg": None, "model": fs}, os.path.join(d, "fairseq-args.pt"))
        if name == "w2v2-base-ctc":  # the same model as pytorch_model.bin (torch.save's zip format)
            b = os.path.join(out, name + "-bin")
            os.makedirs(b, exist_ok=True)
            torch.save(hf, os.path.join(b, "pytorch_model.bin"))
            for f in ["config.json", "vocab.json", "preprocessor_config.json"]:
                with open(os.path.join(d, f)) as src, open(os.path.join(b, f), "w") as dst:
                    dst.write(src.read())
        if name == "hubert-large-ctc":  # the same model in two safetensors shards with an index
            sh = os.path.join(out, name + "-sharded")
            os.makedirs(sh, exist_ok=True)
            names = sorted(hf)
            half = {"model-00001-of-00002.safetensors": names[: len(names) // 2], "model-00002-of-00002.safetensors": names[len(names) // 2:]}
            for f, ns in half.items():
                write_safetensors(os.path.join(sh, f), {n: hf[n] for n in ns})
            with open(os.path.join(sh, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {}, "weight_map": {n: f2 for f2, ns in half.items() for n in ns}}, f, indent=1)
            # and as two pytorch_model.bin shards
            shb = os.path.join(out, name + "-sharded-bin")
            os.makedirs(shb, exist_ok=True)
            halfb = {f.replace("model-", "pytorch_model-").replace(".safetensors", ".bin"): ns for f, ns in half.items()}
            for f, ns in halfb.items():
                torch.save({n: hf[n] for n in ns}, os.path.join(shb, f))
            with open(os.path.join(shb, "pytorch_model.bin.index.json"), "w") as f:
                json.dump({"metadata": {}, "weight_map": {n: f2 for f2, ns in halfb.items() for n in ns}}, f, indent=1)
            for f in ["config.json", "vocab.json", "preprocessor_config.json"]:
                with open(os.path.join(d, f)) as src, open(os.path.join(shb, f), "w") as dst:
                    dst.write(src.read())
            for f in ["config.json", "vocab.json", "preprocessor_config.json"]:
                with open(os.path.join(d, f)) as src, open(os.path.join(sh, f), "w") as dst:
                    dst.write(src.read())
        if head:
            with open(os.path.join(d, "dict.ltr.txt"), "w") as f:
                for s in VOCAB[4:]:
                    f.write(f"{s} 1\n")
        ref = {}
        with torch.no_grad():
            for n, x in enumerate(xs):
                ref[f"input.{n}"] = x
                feats, _ = model.feature_extractor(x[None], None)
                ref[f"features.{n}"] = feats[0]
                for i, h in enumerate(model.encoder.extract_features(feats)):
                    ref[f"layer{i}.{n}"] = h[0]
                out_ = model.encoder(feats)
                ref[f"output.{n}"] = out_[0]
                if head:
                    ref[f"logits.{n}"] = model.aux(out_)[0]
            L = max(len(x) for x in xs)
            batch = torch.zeros(len(xs), L)
            for n, x in enumerate(xs):
                batch[n, :len(x)] = x
            lengths = torch.tensor([len(x) for x in xs])
            feats, flen = model.feature_extractor(batch, lengths)
            ref["batch.output"] = model.encoder(feats, flen)
            ref["batch.frames"] = flen.to(torch.float32)
        write_safetensors(os.path.join(d, "reference.safetensors"), ref, {"torch": torch.__version__, "torchaudio": torchaudio.__version__})
        print(name, sum(v.numel() for v in state.values()), "parameters")
    # The fuzzers' seeds: one small tensor in each torch.save format.
    small = {"model": {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}}
    torch.save(small, os.path.join(out, "tiny-legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save(small, os.path.join(out, "tiny-zip.pt"))


def base(out):
    """A random model of wav2vec2-base-960h's size (95 M parameters) in HF
    layout, with torchaudio's logits for 10 s of audio: the full-size check
    and the benchmark's model (too large to commit)."""
    gen = torch.Generator().manual_seed(SEED + 1)
    model = torchaudio.models.wav2vec2_base(aux_num_out=32)
    randomise(model, gen)
    model.eval()
    os.makedirs(out, exist_ok=True)
    hf = {hf_key(k, "Wav2Vec2ForCTC"): v for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(out, "model.safetensors"), hf)
    cfg = hf_config("Wav2Vec2ForCTC", "wav2vec2", "group", False, True)
    cfg.update({"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
                "conv_dim": [512] * 7, "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
                "conv_bias": False, "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16, "vocab_size": 32})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    letters = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list("ETAONIHSRDLUMWCFGYPBVK'XJQZ")
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump({s: i for i, s in enumerate(letters)}, f)
    x = inputs(gen)[0].repeat(20)  # 10 s
    x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)
    with torch.no_grad():
        logits, _ = model(x[None])
    write_safetensors(os.path.join(out, "reference.safetensors"), {"input.0": x, "logits.0": logits[0]})
    print("base", sum(v.numel() for v in model.state_dict().values()), "parameters")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--base":
        base(sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "published/testdata")
