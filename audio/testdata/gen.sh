#!/bin/sh
# Regenerates the valid fixtures with sox (not needed at test time).
# The same sound everywhere: a 200-3300 Hz linear chirp plus a 440 Hz tone,
# 0.5 s, 50 ms fades, peak 0.8, synthesised directly at each rate and depth
# (-D: no dither, so the only error is the format's quantisation).
set -e
cd "$(dirname "$0")"
gen() { # rate bits encoding channels out
	sox -D -n -r "$1" -b "$2" -e "$3" -c 1 "tmp-$5" synth 0.5 sine 200-3300 sine 440 remix 1v0.4,2v0.4 fade h 0.05 0.5 0.05
	if [ "$4" = 1 ]; then mv "tmp-$5" "$5"; else sox -D "tmp-$5" -c "$4" "$5" remix $(seq -s ' ' 1 "$4" | sed 's/[0-9]*/1/g'); rm "tmp-$5"; fi
}
gen 16000 32 floating-point 1 ref-f32-16k.wav
gen 16000 8 unsigned-integer 1 pcm8-16k.wav
gen 16000 16 signed-integer 1 pcm16-16k.wav
gen 16000 24 signed-integer 1 pcm24-16k.wav
gen 16000 32 signed-integer 1 pcm32-16k.wav
gen 16000 64 floating-point 1 f64-16k.wav
gen 44100 16 signed-integer 1 pcm16-44k1.wav
gen 48000 16 signed-integer 1 pcm16-48k.wav
gen 22050 16 signed-integer 1 pcm16-22k05.wav
gen 8000 16 signed-integer 1 pcm16-8k.wav
gen 48000 32 floating-point 1 f32-48k.wav
gen 16000 16 signed-integer 2 pcm16-16k-stereo.wav
gen 44100 24 signed-integer 2 pcm24-44k1-stereo.wav
gen 32000 16 signed-integer 3 pcm16-32k-3ch.wav
