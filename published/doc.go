// Package published loads the wav2vec 2.0 and HuBERT models people
// publish into an encoder.Transformer and a CTC head: Hugging Face model
// folders of the Wav2Vec2ForCTC, Wav2Vec2Model, Wav2Vec2ForPreTraining
// (with its quantizer and projections, Model.Pretraining), HubertForCTC
// and HubertModel architectures (config.json, vocab.json,
// preprocessor_config.json, and model.safetensors, safetensors shards or
// pytorch_model.bin files), and fairseq .pt files (LoadHF, LoadFairseq,
// Load; a pretraining one's quantizer too). PyTorch pickles, in the zip format and the older one, are read
// without running them (torch.go). Download fetches a hub model into the
// huggingface_hub cache, which ResolveCached reads; ExtractTo writes a
// layer of a WAV stream as .npy; SaveHF writes a model as a Hugging Face
// folder.
//
// A file's config is checked against its tensors before anything is
// allocated; a missing tensor is an error naming it, and tensors the model
// does not use are listed in Model.Unused. The tests compare every stage
// with torchaudio's outputs on the tiny random models that
// tools/reference/w2v2_fixtures.py and w2v2_pretraining.py write into
// testdata.
package published
