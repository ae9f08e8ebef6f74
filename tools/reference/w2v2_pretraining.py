#!/usr/bin/python3
"""Reference fixture for continuing the pretraining of published wav2vec 2.0
checkpoints: a tiny random pretraining model with its quantizer and
projections, in Hugging Face's Wav2Vec2ForPreTraining layout (config.json,
model.safetensors) and in fairseq's pretraining .pt layout (mask_emb,
quantizer.vars, quantizer.weight_proj, project_q, final_proj), with
outputs computed here by torchaudio's model and by the quantizer written
out in torch, as fairseq's GumbelVectorQuantizer and Hugging Face's
Wav2Vec2GumbelVectorQuantizer compute it at inference (the argmax code of
each group):

  input.<n>       the normalised waveform n
  z.<n>           the feature encoder's output after its LayerNorm [T, C]
                  (the quantizer's input)
  q.<n>           the quantized frames [T, G*d]
  project_q.<n>   project_q(q) [T, F]
  output.<n>      the transformer's output, unmasked [T, D]
  final_proj.<n>  final_proj (project_hid) of it [T, F]

Run from the repository root (CI does not run it; its output is committed):

  /usr/bin/python3 tools/reference/w2v2_pretraining.py published/testdata/w2v2-pretrain
"""

import json
import os
import sys

import torch
import torchaudio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import w2v2_fixtures as fx  # noqa: E402

SEED = 20261205
G, V, CODE_DIM, FINAL = 2, 8, 16, 12


def main(out):
    gen = torch.Generator().manual_seed(SEED)
    xs = fx.inputs(gen)
    fx.NORM = "group"
    model = fx.build("group", False, False)
    fx.randomise(model, gen)
    model.eval()
    C, D = fx.CONV[-1][0], fx.DIM
    heads = {
        "quantizer.codevectors": torch.rand(1, G * V, CODE_DIM // G, generator=gen),
        "quantizer.weight_proj.weight": torch.randn(G * V, C, generator=gen),
        "quantizer.weight_proj.bias": 0.2 * torch.randn(G * V, generator=gen),
        "project_q.weight": torch.randn(FINAL, CODE_DIM, generator=gen) / CODE_DIM ** 0.5,
        "project_q.bias": 0.2 * torch.randn(FINAL, generator=gen),
        "project_hid.weight": torch.randn(FINAL, D, generator=gen) / D ** 0.5,
        "project_hid.bias": 0.2 * torch.randn(FINAL, generator=gen),
    }
    mask_emb = torch.rand(D, generator=gen)
    os.makedirs(out, exist_ok=True)
    state = model.state_dict()
    hf = {"wav2vec2." + fx.hf_key(k, "Wav2Vec2Model"): v for k, v in state.items()}
    hf["wav2vec2.masked_spec_embed"] = mask_emb
    hf.update(heads)
    fx.write_safetensors(os.path.join(out, "model.safetensors"), hf)
    cfg = fx.hf_config("Wav2Vec2ForPreTraining", "wav2vec2", "group", False, False)
    del cfg["vocab_size"]
    cfg.update({"num_codevector_groups": G, "num_codevectors_per_group": V, "codevector_dim": CODE_DIM,
                "proj_codevector_dim": FINAL, "num_negatives": 100, "contrastive_logits_temperature": 0.1,
                "diversity_loss_weight": 0.1})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump({"do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
                   "padding_side": "right", "padding_value": 0.0, "return_attention_mask": False,
                   "sampling_rate": 16000}, f, indent=2)
    fs = {fx.fairseq_key(k, False): v for k, v in state.items()}
    fs["mask_emb"] = mask_emb
    fs["quantizer.vars"] = heads["quantizer.codevectors"]
    fs["quantizer.weight_proj.weight"] = heads["quantizer.weight_proj.weight"]
    fs["quantizer.weight_proj.bias"] = heads["quantizer.weight_proj.bias"]
    fs["project_q.weight"], fs["project_q.bias"] = heads["project_q.weight"], heads["project_q.bias"]
    fs["final_proj.weight"], fs["final_proj.bias"] = heads["project_hid.weight"], heads["project_hid.bias"]
    w2v = {"_name": "wav2vec2", "extractor_mode": "default",
           "conv_feature_layers": "[(16, 10, 5)] + [(16, 3, 2)] * 4 + [(16, 2, 2)] * 2", "conv_bias": False,
           "encoder_embed_dim": D, "encoder_layers": fx.LAYERS, "encoder_attention_heads": fx.HEADS,
           "encoder_ffn_embed_dim": fx.FF, "conv_pos": fx.POS_K, "conv_pos_groups": fx.POS_G, "layer_norm_first": False,
           "latent_vars": V, "latent_groups": G, "latent_dim": CODE_DIM, "final_dim": FINAL, "num_negatives": 100,
           "logit_temp": 0.1, "latent_temp": [2.0, 0.5, 0.999995], "quantize_targets": True}
    fs_cfg = {"model": w2v, "task": {"_name": "audio_pretraining", "normalize": True}}
    torch.save({"args": None, "cfg": fs_cfg, "model": fs, "optimizer_history": [], "extra_state": {"epoch": 1}},
               os.path.join(out, "fairseq.pt"))
    ref = {}
    with torch.no_grad():
        for n, x in enumerate(xs):
            ref[f"input.{n}"] = x
            feats, _ = model.feature_extractor(x[None], None)
            z = model.encoder.feature_projection.layer_norm(feats)[0]  # [T, C]
            ref[f"z.{n}"] = z
            logits = z @ heads["quantizer.weight_proj.weight"].T + heads["quantizer.weight_proj.bias"]
            idx = logits.view(-1, G, V).argmax(-1)  # [T, G]
            cv = heads["quantizer.codevectors"][0].view(G, V, -1)
            q = torch.cat([cv[g][idx[:, g]] for g in range(G)], dim=-1)  # [T, G*d]
            ref[f"q.{n}"] = q
            ref[f"project_q.{n}"] = q @ heads["project_q.weight"].T + heads["project_q.bias"]
            c = model.encoder(feats)[0]
            ref[f"output.{n}"] = c
            ref[f"final_proj.{n}"] = c @ heads["project_hid.weight"].T + heads["project_hid.bias"]
    fx.write_safetensors(os.path.join(out, "reference.safetensors"), ref,
                         {"torch": torch.__version__, "torchaudio": torchaudio.__version__})
    print(out, sum(v.numel() for v in hf.values()), "values")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "published/testdata/w2v2-pretrain")
