// Package features computes the classic speech front end: log-mel filterbank
// energies and MFCCs, the baseline input that the context network can take in
// place of the learned feature encoder.
//
// The computation follows Kaldi's compute-fbank-feats and compute-mfcc-feats as
// torchaudio.compliance.kaldi reproduces them, with window_type "hanning" and
// no dither (so the output is deterministic):
//
//   - frames of FrameLength samples every FrameShift samples, only frames that
//     fit completely (snip_edges): 1 + (n-FrameLength)/FrameShift frames, none
//     when n < FrameLength;
//   - per frame: subtract the frame's mean, pre-emphasis
//     x[i] -= PreEmphasis*x[i-1] (x[-1] taken as x[0]), a symmetric Hann window
//     0.5 - 0.5 cos(2 pi i / (FrameLength-1)), zero padding to NFFT points;
//   - power spectrum |X[k]|^2 for k = 0..NFFT/2;
//   - triangular filters equally spaced on Kaldi's mel scale
//     1127 ln(1 + f/700) between LowFreq and HighFreq (the Nyquist bin gets no
//     weight, as in Kaldi);
//   - natural log with a floor at float32's epsilon (1.1920929e-07).
//
// VTLNWarp moves the filters' edges by Kaldi's piecewise-linear VTLN warp
// (VTLNWarpFreq, with Kaldi's cut-offs of 100 Hz and 500 Hz below Nyquist),
// as compute-fbank-feats --vtln-warp does; fine-tuning draws it at random
// per utterance as vocal tract length perturbation.
//
// MFCCs take MFCCMels (23) such log energies, apply an orthonormal DCT-II whose
// first row is sqrt(1/MFCCMels), keep NumCeps (13) coefficients and lifter
// them by 1 + L/2 sin(pi i / L) with L = CepstralLifter (22).
//
// The FFT is go-dsp's (github.com/mjibson/go-dsp/fft). It allocates and starts
// goroutines on every call, so the Extractor transforms two real frames with
// one complex FFT (one as the real part, one as the imaginary part) and
// separates the two spectra by symmetry: half the calls.
//
// With the defaults (16 kHz, 80 mels, 400-sample window, 160-sample hop) one
// feature frame covers 10 ms, the frame rate of the wav2vec feature encoder.
package features
