//go:build amd64 && !purego

#include "textflag.h"

// The constants of nn's expNonPositive (op_attention.go), as float64 bits;
// nn's TestExpVector checks this kernel bit for bit against it.
DATA expLog2e<>+0(SB)/8, $0x3FF71547652B82FE
GLOBL expLog2e<>(SB), RODATA|NOPTR, $8
DATA expLn2hi<>+0(SB)/8, $0x3FE62E42FEE00000
GLOBL expLn2hi<>(SB), RODATA|NOPTR, $8
DATA expLn2lo<>+0(SB)/8, $0x3DEA39EF35793C76
GLOBL expLn2lo<>(SB), RODATA|NOPTR, $8
DATA expHalf<>+0(SB)/8, $0x3FE0000000000000
GLOBL expHalf<>(SB), RODATA|NOPTR, $8
DATA expOne<>+0(SB)/8, $0x3FF0000000000000
GLOBL expOne<>(SB), RODATA|NOPTR, $8
DATA expC6<>+0(SB)/8, $0x3FC5555555555555
GLOBL expC6<>(SB), RODATA|NOPTR, $8
DATA expC24<>+0(SB)/8, $0x3FA5555555555555
GLOBL expC24<>(SB), RODATA|NOPTR, $8
DATA expC120<>+0(SB)/8, $0x3F81111111111111
GLOBL expC120<>(SB), RODATA|NOPTR, $8
DATA expC720<>+0(SB)/8, $0x3F56C16C16C16C17
GLOBL expC720<>(SB), RODATA|NOPTR, $8
DATA expC5040<>+0(SB)/8, $0x3F2A01A01A01A01A
GLOBL expC5040<>(SB), RODATA|NOPTR, $8
DATA expLim<>+0(SB)/8, $0xC086200000000000
GLOBL expLim<>(SB), RODATA|NOPTR, $8
DATA expBias<>+0(SB)/8, $0x43300000000003FF
GLOBL expBias<>(SB), RODATA|NOPTR, $8

// One step of the Taylor polynomial in Horner's form: acc = c + r*acc.
#define HORNER(c) \
	VMULPD       Y2, Y3, Y3 \
	VBROADCASTSD c, Y4      \
	VADDPD       Y4, Y3, Y3

// func expShiftAVX2(dst *float64, src *float32, n int, shift float64)
// dst[i] = e^(src[i] - shift) for src[i] - shift <= 0; n a multiple of 4.
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSD shift+24(FP), Y15
	VBROADCASTSD expLog2e<>(SB), Y14
	VBROADCASTSD expHalf<>(SB), Y13
	VBROADCASTSD expLn2hi<>(SB), Y12
	VBROADCASTSD expLn2lo<>(SB), Y11
	VBROADCASTSD expOne<>(SB), Y10
	VBROADCASTSD expBias<>(SB), Y9
	VBROADCASTSD expLim<>(SB), Y8

eloop:
	CMPQ CX, $4
	JLT  edone
	VCVTPS2PD (SI), Y0
	VSUBPD    Y15, Y0, Y0 // x
	VMULPD    Y14, Y0, Y1
	VADDPD    Y13, Y1, Y1
	VROUNDPD  $1, Y1, Y1  // n = floor(x*log2e + 0.5)
	VMULPD    Y12, Y1, Y2
	VSUBPD    Y2, Y0, Y2
	VMULPD    Y11, Y1, Y3
	VSUBPD    Y3, Y2, Y2  // r = (x - n*ln2hi) - n*ln2lo
	VBROADCASTSD expC5040<>(SB), Y3
	HORNER(expC720<>(SB))
	HORNER(expC120<>(SB))
	HORNER(expC24<>(SB))
	HORNER(expC6<>(SB))
	HORNER(expHalf<>(SB))
	HORNER(expOne<>(SB))
	HORNER(expOne<>(SB))  // p
	VADDPD    Y9, Y1, Y4
	VPSLLQ    $52, Y4, Y4 // 2^n
	VMULPD    Y4, Y3, Y3
	VCMPPD    $0x11, Y8, Y0, Y5 // x < -708: 0
	VXORPD    Y6, Y6, Y6
	VBLENDVPD Y5, Y6, Y3, Y3
	VCMPPD    $3, Y0, Y0, Y5    // NaN: x
	VBLENDVPD Y5, Y0, Y3, Y3
	VMOVUPD   Y3, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $4, CX
	JMP       eloop

edone:
	VZEROUPPER
	RET
