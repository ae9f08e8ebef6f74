// Package audio reads and writes WAV files for the toolkit. Everything the
// models see is 16 kHz (SampleRate), mono, float32 in [-1, 1].
//
// It is modelled on image/png: Decode reads a whole file from any
// io.Reader (it need not seek), DecodeConfig reads only the header, and
// bad input gives a FormatError (not a valid WAV file), an UnsupportedError
// (a valid file using something not decoded here) or an error wrapping
// io.ErrUnexpectedEOF (the input ends early). Every message starts with
// "audio: "; ReadFile and ReadFileConfig add the path. No input makes the
// decoder panic (FuzzDecode), and no size in a header makes it allocate
// more than the bytes actually present justify.
//
// # Decoding
//
// Supported: PCM with 8 (unsigned), 16, 24 and 32 bits, IEEE float with 32
// and 64 bits, the same inside WAVE_FORMAT_EXTENSIBLE, any number of
// channels (averaged to mono), any sample rate from 1 kHz to 1 MHz
// (resampled to 16 kHz). Integer samples are scaled by the header's bit
// depth, 2^(bits-1); float samples are clipped to [-1, 1]. Chunks other
// than fmt and data are skipped without being held in memory. A header
// whose RIFF and data sizes are both 0xFFFFFFFF (written by a program that
// could not seek back, such as ffmpeg to a pipe) means "samples until the
// end of the input". A trailing partial frame is ignored. An empty data
// chunk decodes to zero samples without error; a short file is not an
// error here (the model layers decide what is too short).
//
// Stream decodes block by block, holding about 64 KiB of the file plus the
// resampler's history whatever the length; concatenated Reads equal
// Decode exactly.
//
// # Resampling
//
// Resample is a polyphase Kaiser-windowed sinc: pass band up to 0.9 of the
// lower Nyquist frequency (7.2 kHz when going to 16 kHz), stop band from
// the lower Nyquist frequency on, 95 dB down (95.0 dB at the worst
// frequency measured by TestResampleStopBand, which requires 94), pass-band
// ripple about 0.0001 dB. It is zero-phase:
// output sample k is at the instant of input sample k*from/to.
//
// # Where go-audio/wav is used, and where not
//
// Encode and WriteFile write through go-audio/wav's Encoder (16-bit PCM,
// mono), which is correct. The reading side does not use its Decoder:
// it needs an io.ReadSeeker, returns IEEE float samples as raw integer
// bits, leaves 8-bit samples offset by 128, silently accepts a data chunk
// cut short, returns no samples and no error for a data size of
// 0xFFFFFFFF, and allocates whatever a corrupt size asks for. This package
// walks the RIFF chunks itself, checking each size against what the input
// holds, and converts samples in its own loop (several times faster than
// go-audio's buffers). It uses go-audio/riff's chunk IDs. The resampler's
// inner product is gonum's blas32.Dot (assembly on amd64).
//
// # Speed (2 shared cores, 60 s files, BenchmarkDecodeWAV, BenchmarkResample)
//
// A 16 kHz mono file decodes at several hundred MB/s (over 5000 times
// real time); a 44.1 kHz stereo or 48 kHz file at about 800-1000 times
// real time, nearly all of it resampling. Encode, through go-audio's
// Encoder, runs at about 2000 times real time.
package audio
