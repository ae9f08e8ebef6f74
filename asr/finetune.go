package asr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/dist"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/internal/seed"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/published"
	"github.com/wav2vec-go/wav2vec/train"
)

// MaxVTLP bounds FinetuneSettings.VTLP: VTLN warp factors estimated for
// real speakers lie within about 0.8-1.2.
const MaxVTLP = 0.2

// maxSkipsInARow stops a run whose updates keep failing (every loss NaN).
const maxSkipsInARow = 50

// FinetuneSettings are the training settings of a fine-tuning run.
// checkpoint_last records them, so that a resumed run goes on as it was
// started. Every value means what it says: 0 is zero (no freeze, no
// masking, no clipping), never "the default"; DefaultFinetuneSettings
// gives the defaults.
type FinetuneSettings struct {
	// MaxSteps is the number of updates; the tri-stage schedule spans it.
	MaxSteps int `json:"max_steps"`
	// Seed fixes the initial head, the batch order, the span masks and
	// dropout.
	Seed uint64 `json:"seed"`
	// LR is the peak learning rate of the tri-stage schedule (warm-up 10%
	// from 1% of the peak, hold 40%, exponential decay 50% to 5%).
	LR float64 `json:"lr"`
	// FreezeSteps: with a pretrained init, the whole body (encoder and
	// context network) is frozen for this many first updates and only the
	// head learns. Ignored for InitScratch and InitLogMel, where nothing
	// is frozen.
	FreezeSteps int `json:"freeze_steps"`
	// TrainFeatures lets a pretrained conv feature encoder learn after
	// the freeze (fairseq's feature_grad_mult > 0); otherwise it stays
	// frozen throughout.
	TrainFeatures bool `json:"train_features"`
	// BodyLRScale, with a pretrained init, multiplies the learning rate of
	// the encoder and context network (the head keeps the full rate).
	// Ignored for InitScratch and InitLogMel.
	BodyLRScale float64 `json:"body_lr_scale"`
	// BatchSeconds bounds a batch's padded size in seconds.
	BatchSeconds float64 `json:"batch_seconds"`
	// ValidEvery and LogEvery are the updates between validations and
	// between metrics lines; both also happen after the last update.
	ValidEvery int `json:"valid_every"`
	LogEvery   int `json:"log_every"`
	// MaskProb is the probability that a frame starts a masked span
	// (wav2vec 2.0's mask_prob, as augmentation; encoder.SpanMask), 0 for
	// none; MaskLength is the span length in frames.
	MaskProb   float64 `json:"mask_prob"`
	MaskLength int     `json:"mask_length"`
	// MaskChannelProb is the probability that a channel starts a masked
	// span of MaskChannelLength channels (fairseq's mask_channel_prob,
	// Hugging Face's mask_feature_prob, with no minimum number of spans):
	// the masked channels of the projected features are zeroed on every
	// frame of the utterance. 0 means none.
	MaskChannelProb   float64 `json:"mask_channel_prob"`
	MaskChannelLength int     `json:"mask_channel_length"`
	// LayerDrop, for a transformer body, is the probability that an update
	// skips each transformer layer (fairseq's layerdrop); 0 means none.
	LayerDrop float64 `json:"layerdrop"`
	// ActivationDropout, for a transformer body, is the dropout after each
	// feed-forward GELU (fairseq's activation_dropout).
	ActivationDropout float64 `json:"activation_dropout"`
	// VTLP, for the log-mel input, perturbs each training utterance's vocal
	// tract length: its features are computed with a VTLN warp factor
	// (features.Config.VTLNWarp) drawn uniformly from 1-VTLP to 1+VTLP in
	// steps of 0.01. 0 means none; at most MaxVTLP.
	VTLP float64 `json:"vtlp,omitempty"`
	// ClipNorm clips the global gradient norm; 0 means no clipping.
	ClipNorm float64 `json:"clip_norm"`
}

// DefaultFinetuneSettings returns the settings sized for the tiny model on
// a CPU (docs/RESULTS.md has the runs that chose them).
func DefaultFinetuneSettings() FinetuneSettings {
	return FinetuneSettings{
		MaxSteps: 2000, Seed: 1, LR: 2e-3, BodyLRScale: 1, BatchSeconds: 16, ValidEvery: 200, LogEvery: 10,
		MaskProb: 0.1, MaskLength: 10, MaskChannelLength: 64, ClipNorm: 5,
	}
}

// TransformerFinetuneSettings returns the defaults for a transformer body
// (a published model, or one of the toolkit's own): fairseq's base_10m and
// base_1h recipes for the regularisers (mask_prob 0.65 in spans of 10
// frames, channel masks 0.25 in spans of 64, layerdrop 0.1, activation
// dropout 0.1, the conv feature encoder frozen throughout), with the
// update count, the learning rate and the freeze sized for a CPU: 2000
// updates of 16 s instead of 13000 of 1600 s, a peak rate of 1e-4 (Hugging
// Face's fine-tuning examples; fairseq's 5e-5 goes with its far larger
// batches) and the body frozen for the first 10% (fairseq: 10000 of 13000).
func TransformerFinetuneSettings() FinetuneSettings {
	s := DefaultFinetuneSettings()
	s.LR, s.FreezeSteps = 1e-4, s.MaxSteps/10
	s.MaskProb, s.MaskLength = 0.65, 10
	s.MaskChannelProb, s.MaskChannelLength = 0.25, 64
	s.LayerDrop, s.ActivationDropout = 0.1, 0.1
	return s
}

// DefaultSettingsFor returns the default settings of a run from init (see
// FinetuneConfig.Init): TransformerFinetuneSettings for a published model
// or a checkpoint with a transformer body, DefaultFinetuneSettings
// otherwise (and when init cannot be read: Finetune reports that).
func DefaultSettingsFor(init string) FinetuneSettings {
	if published.IsPath(init) {
		return TransformerFinetuneSettings()
	}
	if init != InitScratch && init != InitLogMel {
		if ck, err := nn.LoadCheckpoint(init); err == nil {
			var conf struct {
				Transformer *encoder.TransformerConfig `json:"transformer"`
			}
			if ck.MetaJSON(nn.MetaConfig, &conf) == nil && conf.Transformer != nil {
				return TransformerFinetuneSettings()
			}
		}
	}
	return DefaultFinetuneSettings()
}

// Validate reports every problem with s at once, each naming the setting
// by its JSON key.
func (s FinetuneSettings) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("asr: finetune: "+format, a...)) }
	fin := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if s.MaxSteps < 1 {
		bad("max_steps %d: want at least 1", s.MaxSteps)
	}
	if !(s.LR > 0) || !fin(s.LR) {
		bad("lr %g: want a positive number", s.LR)
	}
	if s.FreezeSteps < 0 {
		bad("freeze_steps %d: want 0 or more", s.FreezeSteps)
	}
	if !(s.BodyLRScale > 0) || !fin(s.BodyLRScale) {
		bad("body_lr_scale %g: want a positive number", s.BodyLRScale)
	}
	if !(s.BatchSeconds > 0) || !fin(s.BatchSeconds) {
		bad("batch_seconds %g: want a positive number", s.BatchSeconds)
	}
	if s.ValidEvery < 1 {
		bad("valid_every %d: want at least 1", s.ValidEvery)
	}
	if s.LogEvery < 1 {
		bad("log_every %d: want at least 1", s.LogEvery)
	}
	if !(s.MaskProb >= 0 && s.MaskProb <= 1) {
		bad("mask_prob %g: want 0 to 1", s.MaskProb)
	}
	if s.MaskLength < 1 {
		bad("mask_length %d: want at least 1", s.MaskLength)
	}
	if !(s.MaskChannelProb >= 0 && s.MaskChannelProb <= 1) {
		bad("mask_channel_prob %g: want 0 to 1", s.MaskChannelProb)
	}
	if s.MaskChannelLength < 1 {
		bad("mask_channel_length %d: want at least 1", s.MaskChannelLength)
	}
	if !(s.LayerDrop >= 0 && s.LayerDrop < 1) {
		bad("layerdrop %g: want at least 0 and less than 1", s.LayerDrop)
	}
	if !(s.ActivationDropout >= 0 && s.ActivationDropout < 1) {
		bad("activation_dropout %g: want at least 0 and less than 1", s.ActivationDropout)
	}
	if !(s.VTLP >= 0 && s.VTLP <= MaxVTLP) {
		bad("vtlp %g: want 0 to %g", s.VTLP, MaxVTLP)
	}
	if !(s.ClipNorm >= 0) || !fin(s.ClipNorm) {
		bad("clip_norm %g: want 0 (none) or a positive number", s.ClipNorm)
	}
	return errors.Join(errs...)
}

// FinetuneConfig configures Finetune: what to train, on what, and where
// to, with the FinetuneSettings. Start from DefaultFinetuneConfig.
type FinetuneConfig struct {
	// Init is the starting point: the path of a pretraining checkpoint
	// (a new head on its encoder), the path of a fine-tuned model (all of
	// it, to train on: adaptation to new data), a published model (a
	// Hugging Face folder or a fairseq .pt file, as published.Load reads
	// them: a pretrained body gets a new head, a CTC model trains on),
	// InitScratch or InitLogMel (see those constants). The optimiser and
	// the schedule start afresh. A model with a head keeps it when its
	// letters cover the training labels and Vocab is nil or its own;
	// otherwise the head is replaced. A resumed run takes the model from
	// its checkpoint and may leave Init empty.
	Init string
	// InitModel, when not nil, is a fine-tuned model in memory to start
	// from instead of Init (defaultmodel.New gives the embedded one); the
	// run trains it in place.
	InitModel *Model
	// Encoder is the network for InitScratch and InitLogMel (with
	// InitLogMel its input is log-mel). A checkpoint brings its own.
	Encoder encoder.Config
	// Transformer, when set, is the network for InitScratch instead of
	// Encoder: wav2vec 2.0's transformer with random weights.
	Transformer *encoder.TransformerConfig
	// Vocab is the output vocabulary of a new head. nil means the model's
	// own letters when it has a head that covers the training labels, else
	// dataset.DefaultVocab() when that covers them, else the labels' own
	// symbols (dataset.VocabFromLabels).
	Vocab *dataset.Vocab
	// Train and Valid are manifests with .ltr labels beside them. Valid
	// may be empty: no validation, and no best checkpoint.
	Train, Valid string
	// Out is the run's folder: metrics.jsonl, checkpoint_last and
	// checkpoint_best (lowest validation CER, WER breaking ties: with
	// little labeled data WER stays near 100% long after CER falls).
	Out string
	// Resume continues from Out/checkpoint_last.safetensors: weights, Adam
	// state, step, data position and random state, so that the run ends as
	// an uninterrupted one would given the same settings
	// (LastFinetuneSettings reads them). MaxSteps may extend the run.
	Resume bool
	FinetuneSettings
	// SaveEvery is the time between checkpoint_last saves.
	SaveEvery time.Duration
	// Progress receives the status line (nil: none); Quiet silences it.
	Progress io.Writer
	Quiet    bool
	// Log receives warnings (skipped utterances, manifest sample counts
	// that differ from the files', skipped updates, a model that emits
	// only blanks) and the temporary files of a killed run removed at the
	// start; nil means slog's default logger.
	Log *slog.Logger
	// Comm, when it has several ranks (mpirun), splits every batch over
	// them and averages their gradients; rank 0 alone writes Out's files.
	// Every rank reads the same data and, to resume, the same Out. A rank
	// whose Finetune returns an error must end the job (Comm.Abort, or
	// dist.Finish with a non-zero code), or the others wait for it. nil
	// is one process.
	Comm dist.Comm `json:"-"`
	// stopAt, in tests, interrupts the run as a cancellation would once
	// this many updates are done.
	stopAt int
	// afterInit, in tests, adjusts the model before training starts.
	afterInit func(*Model)
	// poison, in tests, puts a NaN into the input of the batches it picks.
	poison func(step int) bool
}

// DefaultFinetuneConfig returns a configuration with the default settings,
// the tiny network for InitScratch and InitLogMel, and checkpoint_last saved
// every 10 minutes; the caller names the init, the data and the output.
func DefaultFinetuneConfig() FinetuneConfig {
	return FinetuneConfig{Encoder: encoder.Tiny(), FinetuneSettings: DefaultFinetuneSettings(), SaveEvery: 10 * time.Minute}
}

// Validate reports every problem with c at once.
func (c FinetuneConfig) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("asr: finetune: "+format, a...)) }
	if c.Init == "" && c.InitModel == nil && !c.Resume {
		bad("no init: want a pretraining checkpoint, a fine-tuned model, %q or %q", InitScratch, InitLogMel)
	}
	if c.Train == "" {
		bad("no training manifest")
	}
	if c.Out == "" {
		bad("no output folder")
	}
	if !(c.SaveEvery > 0) {
		bad("save interval %v: want a positive duration", c.SaveEvery)
	}
	if !c.Resume && c.InitModel == nil && (c.Init == InitScratch || c.Init == InitLogMel) {
		if c.Transformer != nil {
			if err := c.Transformer.Validate(); err != nil {
				errs = append(errs, err)
			}
		} else if err := c.Encoder.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, c.FinetuneSettings.Validate())...)
}

// FinetuneResult sums up a run.
type FinetuneResult struct {
	Steps           int        // updates done in total (resumed ones included)
	Interrupted     bool       // the context was cancelled; checkpoint_last holds the state
	SkippedUpdates  int        // updates skipped for a non-finite loss or gradient
	SkippedUtts     int        // utterances left out, each once: file missing, unreadable, too short or long, label longer than its frames
	Valid           ValidStats // the last validation (zero without a valid set)
	BestScore       float64    // best validation score (CER + WER/1000), +Inf if none
	BlankOnlyWarned bool       // a validation after warm-up gave only empty hypotheses
}

// trainState is what checkpoint_last records to resume (metadata
// "train_state").
type trainState struct {
	Epoch          int    `json:"epoch"`
	Position       int    `json:"position"` // next batch of the epoch's plan
	RNG            []byte `json:"rng"`      // the span-mask PCG
	SkippedUpdates int    `json:"skipped_updates"`
	SkippedUtts    int    `json:"skipped_utterances"`
	// The training and validation manifest rows counted in SkippedUtts,
	// so that a resumed run counts each once; absent in older checkpoints.
	SkippedRows      []int   `json:"skipped_rows,omitempty"`
	SkippedValidRows []int   `json:"skipped_valid_rows,omitempty"`
	BestScore        float64 `json:"best_score"`
	// Settings are the run's; absent in checkpoints written before they
	// were recorded.
	Settings *FinetuneSettings `json:"settings,omitempty"`
}

// UnmarshalJSON decodes the state; settings that an older checkpoint does
// not record take their defaults (it was written with them).
func (st *trainState) UnmarshalJSON(data []byte) error {
	type plain trainState
	var raw struct {
		Settings json.RawMessage `json:"settings"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(data, (*plain)(st)); err != nil {
		return err
	}
	if len(raw.Settings) > 0 && string(raw.Settings) != "null" {
		s := DefaultFinetuneSettings()
		if err := json.Unmarshal(raw.Settings, &s); err != nil {
			return err
		}
		st.Settings = &s
	}
	return nil
}

// LastFinetuneSettings returns the settings recorded in out's
// checkpoint_last, and false when there is none to read (no checkpoint,
// or one written before settings were recorded; Finetune with Resume
// reports an unreadable checkpoint itself). A setting that an older
// checkpoint lacks has its default value.
func LastFinetuneSettings(out string) (FinetuneSettings, bool) {
	ck, err := nn.LoadCheckpoint(train.LastPath(out))
	if err != nil {
		return FinetuneSettings{}, false
	}
	var st trainState
	if err := ck.MetaJSON(nn.MetaTrainState, &st); err != nil || st.Settings == nil {
		return FinetuneSettings{}, false
	}
	return *st.Settings, true
}

// trainer is one fine-tuning run in progress.
type trainer struct {
	cfg      FinetuneConfig
	m        *Model
	adam     *nn.Adam
	sched    nn.TriStage
	pcg      *rand.PCG
	rng      *rand.Rand
	loader   *dataset.Loader
	valid    *validSet
	cache    *progCache
	metrics  *train.Metrics
	saver    *train.Saver
	progress *train.Progress
	step     int
	st       trainState
	res      FinetuneResult
	acc      intervalSums
	gradBuf  []float32 // the allreduce buffer of a data-parallel run
}

// Finetune fine-tunes a CTC recogniser as cfg says, writing metrics and
// checkpoints into cfg.Out. When ctx is cancelled it saves checkpoint_last
// and returns with Interrupted set and no error. It starts by removing the
// temporary files a killed run left in cfg.Out, and by reading the header
// of every manifest row's file: a row that cannot be used is skipped and
// counted once in SkippedUtts, and one whose sample count differs from its
// file's header is reported and used with the file's count.
func Finetune(ctx context.Context, cfg FinetuneConfig) (*FinetuneResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if !cfg.lead() { // rank 0 reports
		cfg.Log, cfg.Progress = slog.New(slog.DiscardHandler), io.Discard
	}
	tr := &trainer{cfg: cfg}
	if err := tr.setup(); err != nil {
		return nil, err
	}
	defer tr.cache.Clear()
	defer tr.metrics.Close()
	err := tr.loop(ctx)
	if cerr := tr.metrics.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	tr.res.Steps = tr.step
	tr.res.SkippedUpdates = tr.st.SkippedUpdates
	tr.res.SkippedUtts = tr.noteSkips()
	tr.res.BestScore = tr.saver.Best()
	return &tr.res, nil
}

// setup removes the temporary files a killed run left in the output
// folder, and builds or restores the model, the optimiser and the data.
func (tr *trainer) setup() error {
	cfg := tr.cfg
	if cfg.lead() {
		train.Clean(cfg.Out, cfg.Log)
	}
	tr.pcg = rand.NewPCG(cfg.Seed, 0xf1e7_0e5a)
	tr.rng = rand.New(tr.pcg)
	var ck *nn.Checkpoint
	var err error
	if cfg.Resume {
		ck, err = nn.LoadCheckpoint(train.LastPath(cfg.Out))
		if err != nil {
			return fmt.Errorf("asr: resume: %w", err)
		}
		tr.m, err = FromCheckpoint(ck)
	} else {
		tr.m, err = initModel(cfg, rand.New(rand.NewPCG(cfg.Seed, 0x1417_4ead)))
	}
	if err != nil {
		return err
	}
	// A training program holds every activation of its batch: a
	// transformer's are large, so it keeps fewer of them compiled.
	tr.cache = newProgCache(6)
	if tr.m.Transformer != nil {
		tr.cache = newProgCache(2)
	} else if cfg.LayerDrop > 0 || cfg.ActivationDropout > 0 {
		return fmt.Errorf("asr: layerdrop and activation_dropout apply to transformer bodies; this model's context network is convolutional")
	}
	if cfg.afterInit != nil {
		cfg.afterInit(tr.m)
	}
	if cfg.VTLP > 0 && tr.m.input.Mel() == nil {
		return fmt.Errorf("asr: VTLP warps log-mel features; this model reads the waveform")
	}
	if tr.m.Config.Init == InitPretrained {
		for _, p := range tr.m.bodyParams() {
			p.LRScale = cfg.BodyLRScale
		}
	}
	tr.adam, err = nn.NewAdam(tr.m.Params(), nn.AdamConfig{Beta1: 0.9, Beta2: 0.98, Eps: 1e-8})
	if err != nil {
		return fmt.Errorf("asr: %w", err)
	}
	tr.st.BestScore = math.Inf(1)
	if ck != nil {
		if err := tr.restore(ck); err != nil {
			return err
		}
	}
	tr.sched = nn.TriStage{Peak: cfg.LR, Total: cfg.MaxSteps}
	if err := tr.openData(); err != nil {
		return err
	}
	tr.saver = train.NewSaver(cfg.Out, cfg.SaveEvery)
	tr.saver.SetBest(tr.st.BestScore)
	if err := train.SameOnAllRanks(cfg.Comm, []string{"step", "epoch", "position", "parameter checksum"},
		[]float64{float64(tr.step), float64(tr.st.Epoch), float64(tr.st.Position), train.Checksum(tr.m.Params())}); err != nil {
		return fmt.Errorf("asr: %w", err)
	}
	if cfg.lead() {
		if tr.metrics, err = train.OpenMetrics(cfg.Out, tr.step); err != nil {
			return err
		}
	}
	tr.progress = train.NewProgress(cfg.Progress, cfg.MaxSteps, cfg.Quiet)
	return nil
}

// initModel makes the model a new run starts from (see FinetuneConfig.Init
// and Vocab).
func initModel(cfg FinetuneConfig, rng *rand.Rand) (*Model, error) {
	m, from := cfg.InitModel, cfg.Init
	switch {
	case m != nil:
		from = "the initial model"
	case from == InitScratch, from == InitLogMel:
		vocab, err := headVocab(cfg.Vocab, nil, cfg.Train)
		if err != nil {
			return nil, err
		}
		if tc := cfg.Transformer; tc != nil {
			if from == InitLogMel {
				return nil, errors.New("asr: logmel is an input of the convolutional network; the transformer reads the waveform (use scratch)")
			}
			t, err := encoder.NewTransformer(*tc, rng)
			if err != nil {
				return nil, fmt.Errorf("asr: %w", err)
			}
			body := &Model{Config: ModelConfig{Init: InitScratch}, Transformer: t}
			return body.withHead(vocab, rng)
		}
		return New(cfg.Encoder, vocab, cfg.Init, rng)
	case published.IsPath(from):
		pm, err := published.Load(from)
		if err != nil {
			return nil, err
		}
		if len(pm.Unused) > 0 {
			cfg.Log.Info("asr: the published model's tensors that fine-tuning does not use", "model", from, "count", len(pm.Unused), "first", pm.Unused[0])
		}
		if pm.NoMaskEmb {
			// As fairseq and Hugging Face initialise a missing one.
			cfg.Log.Info("asr: the published model has no mask embedding; masked frames get one drawn from U(0, 1)", "model", from)
			for i := range pm.Body.MaskEmb.Data {
				pm.Body.MaskEmb.Data[i] = float32(rng.Float64())
			}
		}
		if pm.HeadW == nil {
			vocab, err := headVocab(cfg.Vocab, nil, cfg.Train)
			if err != nil {
				return nil, err
			}
			body := &Model{Config: ModelConfig{Init: InitPretrained, NoNormalize: !pm.Normalize}, Transformer: pm.Body}
			return body.withHead(vocab, rng)
		}
		if m, err = FromPublished(pm); err != nil {
			return nil, err
		}
	default:
		ck, err := nn.LoadCheckpoint(cfg.Init)
		if err != nil {
			return nil, fmt.Errorf("asr: %w", err)
		}
		if ck.Meta[nn.MetaKind] != KindASR {
			vocab, err := headVocab(cfg.Vocab, nil, cfg.Train)
			if err != nil {
				return nil, err
			}
			return fromPretrained(ck, vocab, rng)
		}
		if m, err = FromCheckpoint(ck); err != nil {
			return nil, err
		}
	}
	vocab, err := headVocab(cfg.Vocab, m.Vocab, cfg.Train)
	if err != nil {
		return nil, err
	}
	if vocab != m.Vocab {
		cfg.Log.Info("asr: a new CTC head replaces the model's: its letters differ from the training labels'", "model", from,
			"model_letters", strings.Join(m.Vocab.Symbols()[1:], " "), "new_letters", strings.Join(vocab.Symbols()[1:], " "))
		if m, err = m.withHead(vocab, rng); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// headVocab returns the vocabulary of the run's head: given, when not nil
// (own, the model's, when they are equal); else own when it covers the
// labels of the training manifest; else the default letters when they
// cover them; else the labels' own symbols.
func headVocab(given, own *dataset.Vocab, train string) (*dataset.Vocab, error) {
	switch {
	case given != nil && own != nil && slices.Equal(given.Symbols(), own.Symbols()):
		return own, nil
	case given != nil:
		return given, nil
	}
	labels, err := dataset.ReadLabels(train, "ltr")
	if err != nil {
		return nil, err
	}
	if own != nil && own.Covers(labels) {
		return own, nil
	}
	if def := dataset.DefaultVocab(); def.Covers(labels) {
		return def, nil
	}
	v, err := dataset.VocabFromLabels(labels)
	if err != nil {
		return nil, fmt.Errorf("asr: the training labels' symbols: %w", err)
	}
	return v, nil
}

// withHead returns a model with m's body (shared; m may have no head) and
// a new head over vocab drawn from rng.
func (m *Model) withHead(vocab *dataset.Vocab, rng *rand.Rand) (*Model, error) {
	var n *Model
	var err error
	if m.Transformer != nil {
		n, err = assembleTransformer(m.Transformer, vocab, m.Config.Init)
	} else {
		n, err = assemble(m.Encoder, vocab, m.Config.Init)
	}
	if err != nil {
		return nil, err
	}
	n.Config.NoNormalize = m.Config.NoNormalize
	initHead(n, rng)
	return n, nil
}

// restore reads the step, the Adam state and the training state.
func (tr *trainer) restore(ck *nn.Checkpoint) error {
	if err := ck.MetaJSON(nn.MetaStep, &tr.step); err != nil {
		return fmt.Errorf("asr: resume: %w", err)
	}
	if err := tr.adam.LoadFrom(ck); err != nil {
		return fmt.Errorf("asr: resume: %w", err)
	}
	if err := ck.MetaJSON(nn.MetaTrainState, &tr.st); err != nil {
		return fmt.Errorf("asr: resume: %w", err)
	}
	if err := tr.pcg.UnmarshalBinary(tr.st.RNG); err != nil {
		return fmt.Errorf("asr: resume: %s: random state: %w", ck.Path, err)
	}
	return nil
}

// openData reads the manifests and labels, checking every row's sample
// count against its file's header (a wrong count is reported and the
// file's used), and gives a resumed run's skipped rows back to the loaders.
func (tr *trainer) openData() error {
	cfg := tr.cfg
	warn := func(path string, err error) { cfg.Log.Warn("asr: skipping utterance", "file", path, "err", err) }
	mismatch := func(err *dataset.CountError) {
		cfg.Log.Warn("asr: the manifest's sample count differs from the file's; using the file's", "err", err)
	}
	man, labels, err := readLabeled(cfg.Train, tr.m.Vocab)
	if err != nil {
		return err
	}
	tr.loader, err = dataset.NewLoader(man, labels, dataset.LoaderConfig{
		Mode: dataset.Finetune, MaxBatchSeconds: cfg.BatchSeconds, Shuffle: true, Seed: cfg.Seed,
		MinSamples: max(640, tr.m.MinSamples()), Warn: warn,
		Mismatch: mismatch, NoNormalize: tr.m.Config.NoNormalize,
	})
	if err != nil {
		return fmt.Errorf("asr: %s: %w", cfg.Train, err)
	}
	tr.loader.MarkSkipped(tr.st.SkippedRows)
	if cfg.Valid != "" {
		tr.valid, err = openValidSet(cfg.Valid, tr.m, cfg.BatchSeconds, warn, mismatch)
		if err != nil {
			return err
		}
		tr.valid.loader.MarkSkipped(tr.st.SkippedValidRows)
	}
	tr.noteSkips()
	return nil
}

// noteSkips records in the training state the rows the training and
// validation loaders have left out so far, and returns how many they are.
func (tr *trainer) noteSkips() int {
	tr.st.SkippedRows, tr.st.SkippedValidRows = tr.loader.Skipped(), nil
	if tr.valid != nil {
		tr.st.SkippedValidRows = tr.valid.loader.Skipped()
	}
	tr.st.SkippedUtts = len(tr.st.SkippedRows) + len(tr.st.SkippedValidRows)
	return tr.st.SkippedUtts
}

// readLabeled reads a manifest and its .ltr labels, encoded with vocab.
func readLabeled(path string, vocab *dataset.Vocab) (*dataset.Manifest, [][]int, error) {
	man, err := dataset.ReadManifest(path)
	if err != nil {
		return nil, nil, err
	}
	lines, err := dataset.ReadLabels(path, "ltr")
	if err != nil {
		return nil, nil, err
	}
	labels, err := vocab.EncodeAll(lines, dataset.LabelPath(path, "ltr"))
	if err != nil {
		return nil, nil, err
	}
	return man, labels, nil
}

// setFrozen freezes what the step's phase asks and returns the phase.
func (tr *trainer) setFrozen() int {
	for _, p := range tr.m.Params() {
		p.Frozen = false
	}
	if tr.m.Config.Init != InitPretrained {
		return 1
	}
	for _, p := range tr.m.featureParams() {
		p.Frozen = !tr.cfg.TrainFeatures
	}
	if tr.step < tr.cfg.FreezeSteps {
		for _, p := range tr.m.bodyParams() {
			p.Frozen = true
		}
		return 0
	}
	return 1
}

// stepSeed is the dropout seed of an update: the same on a resumed run.
func stepSeed(s uint64, step int) uint64 { return seed.Mix(uint64(step), s) }

// spanMask draws encoder.SpanMask over each row's real frames.
func spanMask(rng *rand.Rand, in *batchInput, p float64, M int) []float32 {
	mask := make([]float32, in.B*in.T)
	for b, T := range in.frames {
		encoder.SpanMask(rng, mask[b*in.T:b*in.T+T], p, M)
	}
	return mask
}

// channelKeep draws a channel mask for each row of a [B, C, T] batch with
// encoder.SpanMaskMin (no minimum number of spans) and returns the batch's
// multiplier: 0 on every frame of a masked channel, 1 elsewhere.
func channelKeep(rng *rand.Rand, shape []int, p float64, M int) []float32 {
	B, C, T := shape[0], shape[1], shape[2]
	keep := make([]float32, B*C*T)
	mask := make([]float32, C)
	for b := range B {
		encoder.SpanMaskMin(rng, mask, p, M, 0)
		for c, m := range mask {
			if m == 0 {
				row := keep[(b*C+c)*T : (b*C+c+1)*T]
				for t := range row {
					row[t] = 1
				}
			}
		}
	}
	return keep
}

// layerKeep draws whether an update runs a layer (probability 1-p, as
// fairseq's layerdrop draws it once per batch) and returns a gate of n
// values, all 1 or all 0.
func layerKeep(rng *rand.Rand, n int, p float64) []float32 {
	gate := make([]float32, n)
	if rng.Float64() >= p {
		for i := range gate {
			gate[i] = 1
		}
	}
	return gate
}

// loop runs updates until MaxSteps or cancellation (train.Loop).
func (tr *trainer) loop(ctx context.Context) error {
	cfg := tr.cfg
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var err error
	tr.res.Interrupted, err = train.Loop(ctx, tr, train.LoopConfig{
		MaxSteps: cfg.MaxSteps, LogEvery: cfg.LogEvery, ValidEvery: cfg.ValidEvery, Validate: tr.valid != nil,
		MaxSkipsInARow: maxSkipsInARow, Data: tr.loader.Stream, Name: cfg.Train,
		Metrics: tr.metrics, Saver: tr.saver, Progress: tr.progress, Log: cfg.Log, Comm: cfg.Comm,
		AfterStep: func(step int) {
			if cfg.stopAt > 0 && step >= cfg.stopAt {
				cancel()
			}
		},
	})
	if err != nil {
		return fmt.Errorf("asr: %w", err)
	}
	return nil
}

// Step, Position, SetPosition, Update, MetricsRow, Validate and SaveLast
// are the trainer as train.Loop drives it.
func (tr *trainer) Step() int                          { return tr.step }
func (tr *trainer) Position() (int, int)               { return tr.st.Epoch, tr.st.Position }
func (tr *trainer) SetPosition(epoch, batch int)       { tr.st.Epoch, tr.st.Position = epoch, batch }
func (tr *trainer) Validate(ctx context.Context) error { return tr.validate(ctx) }
func (tr *trainer) SaveLast() error                    { return tr.saveLast() }

func (tr *trainer) Update(b *dataset.Batch) (train.Update, error) {
	loss, norm, secs, ran, err := tr.update(b)
	if err != nil || !ran {
		return train.Update{}, err
	}
	if !train.Finite(loss) || !train.Finite(norm) {
		tr.st.SkippedUpdates++
		reason := fmt.Sprintf("loss %g, gradient norm %g", loss, norm)
		return train.Update{Ran: true, Skipped: reason, SkipRow: map[string]any{"step": tr.step, "skipped": true,
			"loss": loss, "grad_norm": norm, "skipped_updates": tr.st.SkippedUpdates}}, nil
	}
	tr.acc.loss += loss
	tr.acc.norm += norm
	tr.acc.secs += secs
	tr.acc.n++
	fields := []train.Field{{Name: "loss", Value: loss}, {Name: "lr", Value: tr.sched.LR(tr.step)}}
	if tr.res.Valid.Utterances > 0 {
		fields = append(fields, train.Field{Name: "valid-cer", Value: tr.res.Valid.CER})
	}
	return train.Update{Ran: true, Seconds: secs, Fields: fields}, nil
}

func (tr *trainer) MetricsRow() map[string]any {
	n := float64(max(tr.acc.n, 1))
	row := map[string]any{"step": tr.step, "loss": tr.acc.loss / n, "grad_norm": tr.acc.norm / n,
		"lr": tr.sched.LR(tr.step), "audio_seconds": tr.acc.secs, "skipped_updates": tr.st.SkippedUpdates,
		"skipped_utterances": tr.noteSkips(), "body_frozen": tr.m.Config.Init == InitPretrained && tr.step <= tr.cfg.FreezeSteps}
	tr.acc = intervalSums{}
	return row
}

// intervalSums adds up the updates between two metrics lines.
type intervalSums struct {
	loss, norm, secs float64
	n                int
}

// update runs one batch forward and backward and applies the update. ran
// is false when the batch had no usable utterance (no update, no step).
func (tr *trainer) update(b *dataset.Batch) (loss, norm, secs float64, ran bool, err error) {
	rows := make([][]float32, 0, b.B)
	labels := make([][]int, 0, b.B)
	for r := range b.B {
		x := b.Audio[r*b.T : r*b.T+b.Lengths[r]]
		frames := tr.m.Frames(len(x))
		if need := nn.CTCMinFrames(b.Labels[r]); frames < need {
			idx := b.Indices[r]
			tr.loader.Skip(idx, fmt.Errorf("asr: %s line %d: the label is longer than its frames: it needs %d, the audio gives %d",
				dataset.LabelPath(tr.cfg.Train, "ltr"), idx+1, need, frames))
			continue
		}
		rows = append(rows, x)
		labels = append(labels, b.Labels[r])
	}
	if len(rows) == 0 {
		return 0, 0, 0, false, nil
	}
	if tr.parallel() {
		return tr.updatePart(rows, labels)
	}
	phase := tr.setFrozen()
	in, err := tr.m.prepareWarped(rows, bucketSamples, tr.vtlpFactors(len(rows)))
	if err != nil {
		return 0, 0, 0, false, err
	}
	opt := trainOptions{channels: tr.cfg.MaskChannelProb > 0, layerDrop: tr.cfg.LayerDrop > 0 && tr.m.Transformer != nil,
		activationDropout: tr.cfg.ActivationDropout}
	pr, err := tr.m.get(tr.cache, graphKey{B: in.B, L: in.L, train: true, phase: phase}, in, 0, opt)
	if err != nil {
		return 0, 0, 0, false, err
	}
	pr.p.Reseed(stepSeed(tr.cfg.Seed, tr.step))
	if tr.cfg.poison != nil && tr.cfg.poison(tr.step) {
		in.data[len(in.data)/2] = float32(math.NaN())
	}
	pr.p.Set(pr.x, in.data)
	pr.p.Set(pr.valid, in.valid)
	pr.p.Set(pr.msk, spanMask(tr.rng, in, tr.cfg.MaskProb, tr.cfg.MaskLength))
	if pr.chn != nil {
		pr.p.Set(pr.chn, channelKeep(tr.rng, pr.chn.Shape(), tr.cfg.MaskChannelProb, tr.cfg.MaskChannelLength))
	}
	for _, k := range pr.keep {
		pr.p.Set(k, layerKeep(tr.rng, k.Size(), tr.cfg.LayerDrop))
	}
	if err := pr.ctc.SetTargets(in.frames, labels); err != nil {
		return 0, 0, 0, false, fmt.Errorf("asr: %w", err)
	}
	if err := pr.p.Run(); err != nil {
		return 0, 0, 0, false, fmt.Errorf("asr: step %d: %w", tr.step+1, err)
	}
	return tr.apply(pr.p.Loss(), in.seconds)
}

// apply takes the update of the gradients a step computed (summed over the
// ranks already, in a data-parallel run): it is skipped when the loss or
// the gradient is not finite.
func (tr *trainer) apply(loss, secs float64) (float64, float64, float64, bool, error) {
	if !train.Finite(loss) {
		tr.adam.ZeroGrad()
		return loss, 0, secs, true, nil
	}
	norm := nn.ClipGradNorm(tr.m.Params(), tr.cfg.ClipNorm)
	if err := tr.adam.Step(tr.sched.LR(tr.step + 1)); err != nil {
		if errors.Is(err, nn.ErrNonFiniteGrad) {
			return loss, math.NaN(), secs, true, nil
		}
		return 0, 0, 0, false, fmt.Errorf("asr: %w", err)
	}
	tr.step++
	return loss, norm, secs, true, nil
}

// vtlpFactors draws the VTLN warp factors of n utterances (nil without
// VTLP), from the span-mask PCG so that a resumed run draws the same.
func (tr *trainer) vtlpFactors(n int) []float64 {
	if tr.cfg.VTLP == 0 {
		return nil
	}
	steps := int(math.Round(tr.cfg.VTLP * 100))
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 + float64(tr.rng.IntN(2*steps+1)-steps)/100
	}
	return w
}

// meta returns the checkpoint metadata of the current state.
func (tr *trainer) meta() (map[string]string, error) {
	meta, err := tr.m.Meta()
	if err != nil {
		return nil, err
	}
	if err := nn.PutMetaJSON(meta, nn.MetaStep, tr.step); err != nil {
		return nil, err
	}
	tr.noteSkips()
	tr.st.RNG, err = tr.pcg.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("asr: %w", err)
	}
	c := tr.cfg
	settings := c.FinetuneSettings
	tr.st.Settings = &settings
	tr.st.BestScore = tr.saver.Best()
	if math.IsInf(tr.st.BestScore, 1) {
		tr.st.BestScore = math.MaxFloat64 // JSON has no +Inf; nothing scores this badly
	}
	if err := nn.PutMetaJSON(meta, nn.MetaTrainState, tr.st); err != nil {
		return nil, err
	}
	return meta, nil
}

// saveLast writes checkpoint_last with the optimiser and training state.
func (tr *trainer) saveLast() error {
	meta, err := tr.meta()
	if err != nil {
		return err
	}
	extra := map[string][]float32{}
	if err := tr.adam.SaveTo(extra, meta); err != nil {
		return fmt.Errorf("asr: %w", err)
	}
	if err := os.MkdirAll(tr.cfg.Out, 0o755); err != nil {
		return fmt.Errorf("asr: %w", err)
	}
	return tr.saver.SaveLast(tr.m.Params(), extra, meta)
}

// validate scores the valid set, logs it, keeps the best checkpoint and
// warns when the model emits only blanks after the warm-up.
func (tr *trainer) validate(ctx context.Context) error {
	vs, err := tr.valid.run(ctx, tr.m)
	if err != nil {
		return err
	}
	tr.res.Valid = vs
	score := vs.CER + vs.WER/1000
	warm := int(float64(tr.cfg.MaxSteps) * 0.1)
	blankOnly := vs.Utterances > 0 && vs.EmptyHyps == vs.Utterances
	row := map[string]any{"step": tr.step, "valid_loss": vs.Loss, "valid_cer": vs.CER, "valid_wer": vs.WER,
		"valid_utterances": vs.Utterances, "valid_empty_hypotheses": vs.EmptyHyps}
	if blankOnly && tr.step >= max(warm, tr.cfg.FreezeSteps) && tr.step > 0 {
		row["blank_only"] = true
		tr.res.BlankOnlyWarned = true
		tr.cfg.Log.Warn("asr: the model emits only blanks: every validation hypothesis is empty after the warm-up; "+
			"raise the learning rate, shorten the freeze or train more steps",
			"step", tr.step, "lr", tr.sched.LR(tr.step))
	}
	if err := tr.metrics.Write(row); err != nil {
		return err
	}
	meta, err := tr.meta()
	if err != nil {
		return err
	}
	if _, err := tr.saver.SaveBest(score, tr.m.Params(), nil, meta); err != nil {
		return err
	}
	return nil
}

// lead reports whether this process writes the run's files: it is the
// only one, or rank 0 of a data-parallel run.
func (c *FinetuneConfig) lead() bool { return c.Comm == nil || c.Comm.Rank() == 0 }
