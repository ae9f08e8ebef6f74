package audio

import (
	"encoding/binary"
	"math"
)

// decodeFrames converts len(dst) frames of interleaved little-endian samples
// in src to mono float32 in [-1, 1], averaging the channels. Integer PCM is
// scaled by the header's bit depth (2^(bits-1)), never guessed from the data;
// 8-bit PCM is unsigned with 128 as zero. Float samples are clipped to
// [-1, 1] and NaN becomes 0.
func decodeFrames(dst []float32, src []byte, f Format) {
	ch := f.Channels
	bps := f.BitDepth / 8
	scale := 1 / float32(ch)
	le := binary.LittleEndian
	var sample func(b []byte) float32
	switch {
	case f.Codec == "pcm" && bps == 1:
		if ch == 1 {
			for i := range dst {
				dst[i] = float32(int(src[i])-128) * (1.0 / 128)
			}
			return
		}
		sample = func(b []byte) float32 { return float32(int(b[0])-128) * (1.0 / 128) }
	case f.Codec == "pcm" && bps == 2:
		if ch == 1 {
			src = src[:2*len(dst)]
			for i := range dst {
				dst[i] = float32(int16(le.Uint16(src[2*i:]))) * (1.0 / 32768)
			}
			return
		}
		if ch == 2 {
			src = src[:4*len(dst)]
			for i := range dst {
				l := int32(int16(le.Uint16(src[4*i:])))
				r := int32(int16(le.Uint16(src[4*i+2:])))
				dst[i] = float32(l+r) * (1.0 / 65536)
			}
			return
		}
		sample = func(b []byte) float32 { return float32(int16(le.Uint16(b))) * (1.0 / 32768) }
	case f.Codec == "pcm" && bps == 3:
		sample = func(b []byte) float32 {
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			return float32(v) * (1.0 / (1 << 23))
		}
	case f.Codec == "pcm" && bps == 4:
		sample = func(b []byte) float32 { return float32(int32(le.Uint32(b))) * (1.0 / (1 << 31)) }
	case f.Codec == "float" && bps == 4:
		sample = func(b []byte) float32 { return clip(math.Float32frombits(le.Uint32(b))) }
	case f.Codec == "float" && bps == 8:
		sample = func(b []byte) float32 { return clip(float32(math.Float64frombits(le.Uint64(b)))) }
	default:
		panic("audio: decodeFrames: format not checked by parseFmt") // unreachable: parseFmt rejects it
	}
	fs := ch * bps
	src = src[:fs*len(dst)]
	if ch == 1 {
		for i := range dst {
			dst[i] = sample(src[i*bps:])
		}
		return
	}
	for i := range dst {
		frame := src[i*fs : (i+1)*fs]
		var sum float32
		for c := 0; c < ch; c++ {
			sum += sample(frame[c*bps:])
		}
		dst[i] = sum * scale
	}
}

// clip limits x to [-1, 1]; NaN becomes 0.
func clip(x float32) float32 {
	switch {
	case x > 1:
		return 1
	case x < -1:
		return -1
	case x != x:
		return 0
	}
	return x
}
