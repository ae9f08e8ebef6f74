//go:build amd64 && !purego

#include "textflag.h"

// The constants of nn's float32 GELU (op_gelu.go): its table's knots per
// unit (geluInvH), the knot of 0 (geluMid), 2^52 (round52), the table's
// range [geluLo, geluHi], the Taylor branch's bound (geluSmall) and
// coefficients. nn's TestGELUVector checks this kernel bit for bit against
// the Go loop.
DATA geluInvH<>+0(SB)/8, $32.0
GLOBL geluInvH<>(SB), RODATA|NOPTR, $8
DATA geluMid<>+0(SB)/8, $256.0
GLOBL geluMid<>(SB), RODATA|NOPTR, $8
DATA geluRound<>+0(SB)/8, $0x4330000000000000
GLOBL geluRound<>(SB), RODATA|NOPTR, $8
DATA geluHi<>+0(SB)/8, $8.0
GLOBL geluHi<>(SB), RODATA|NOPTR, $8
DATA geluLo<>+0(SB)/8, $-8.0
GLOBL geluLo<>(SB), RODATA|NOPTR, $8
DATA geluSmall<>+0(SB)/8, $0.015625
GLOBL geluSmall<>(SB), RODATA|NOPTR, $8
DATA geluNegSmall<>+0(SB)/8, $-0.015625
GLOBL geluNegSmall<>(SB), RODATA|NOPTR, $8
DATA geluHalf<>+0(SB)/8, $0.5
GLOBL geluHalf<>(SB), RODATA|NOPTR, $8
DATA geluInvSqrt2Pi<>+0(SB)/8, $0.3989422804014327
GLOBL geluInvSqrt2Pi<>(SB), RODATA|NOPTR, $8
DATA geluOne<>+0(SB)/8, $1.0
GLOBL geluOne<>(SB), RODATA|NOPTR, $8
DATA geluSix<>+0(SB)/8, $6.0
GLOBL geluSix<>(SB), RODATA|NOPTR, $8
DATA geluMask<>+0(SB)/8, $1023
GLOBL geluMask<>(SB), RODATA|NOPTR, $8

// The table's cubic at u (Y0) into Y5, the table at AX, with Y15 = invH,
// Y14 = mid, Y13 = 2^52, Y12 = 1023: s = u*invH + mid, t = s + 2^52, the
// entry bits(t) & 1023 (4 float64s each), f = s - (t - 2^52), then
// ((k3*f + k2)*f + k1)*f + k0. It uses Y1 to Y6.
#define CUBIC \
	VMULPD     Y15, Y0, Y1             \
	VADDPD     Y14, Y1, Y1             \
	VADDPD     Y13, Y1, Y2             \
	VPAND      Y12, Y2, Y3             \
	VPSLLQ     $2, Y3, Y3              \
	VSUBPD     Y13, Y2, Y2             \
	VSUBPD     Y2, Y1, Y1              \
	VPCMPEQQ   Y4, Y4, Y4              \
	VGATHERQPD Y4, 24(AX)(Y3*8), Y5    \
	VPCMPEQQ   Y4, Y4, Y4              \
	VGATHERQPD Y4, 16(AX)(Y3*8), Y6    \
	VMULPD     Y1, Y5, Y5              \
	VADDPD     Y6, Y5, Y5              \
	VPCMPEQQ   Y4, Y4, Y4              \
	VGATHERQPD Y4, 8(AX)(Y3*8), Y6     \
	VMULPD     Y1, Y5, Y5              \
	VADDPD     Y6, Y5, Y5              \
	VPCMPEQQ   Y4, Y4, Y4              \
	VGATHERQPD Y4, (AX)(Y3*8), Y6      \
	VMULPD     Y1, Y5, Y5              \
	VADDPD     Y6, Y5, Y5

// func geluAVX2(y, x *float32, n int, tab *float64)
// n is a multiple of 4; tab is a [1024][4]float64 table of cubics.
TEXT ·geluAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ tab+24(FP), AX
	VBROADCASTSD geluInvH<>(SB), Y15
	VBROADCASTSD geluMid<>(SB), Y14
	VBROADCASTSD geluRound<>(SB), Y13
	VBROADCASTSD geluMask<>(SB), Y12

loop:
	CMPQ CX, $4
	JLT  done
	VCVTPS2PD (SI), Y0 // u

	CUBIC

	// The Taylor branch: u * (0.5 + invSqrt2Pi*u*(1 - u*u/6)).
	VMULPD Y0, Y0, Y7
	VBROADCASTSD geluSix<>(SB), Y9
	VDIVPD Y9, Y7, Y7
	VBROADCASTSD geluOne<>(SB), Y8
	VSUBPD Y7, Y8, Y7
	VBROADCASTSD geluInvSqrt2Pi<>(SB), Y8
	VMULPD Y0, Y8, Y8
	VMULPD Y7, Y8, Y7
	VBROADCASTSD geluHalf<>(SB), Y8
	VADDPD Y7, Y8, Y7
	VMULPD Y7, Y0, Y7 // Taylor

	// Outside (lo, hi): u*0, or u from hi up.
	VXORPD Y8, Y8, Y8
	VMULPD Y8, Y0, Y8 // u*0
	VBROADCASTSD geluHi<>(SB), Y9
	VCMPPD $0x1D, Y9, Y0, Y10 // u >= hi
	VBLENDVPD Y10, Y0, Y8, Y8
	VCMPPD $0x11, Y9, Y0, Y10 // u < hi
	VBROADCASTSD geluLo<>(SB), Y9
	VCMPPD $0x1E, Y9, Y0, Y11 // u > lo
	VANDPD Y11, Y10, Y10
	VBLENDVPD Y10, Y5, Y8, Y8
	VBROADCASTSD geluSmall<>(SB), Y9
	VCMPPD $0x11, Y9, Y0, Y10 // u < small
	VBROADCASTSD geluNegSmall<>(SB), Y9
	VCMPPD $0x1E, Y9, Y0, Y11 // u > -small
	VANDPD Y11, Y10, Y10
	VBLENDVPD Y10, Y7, Y8, Y8

	VCVTPD2PSY Y8, X8
	VMOVUPS X8, (DI)
	ADDQ $16, SI
	ADDQ $16, DI
	SUBQ $4, CX
	JMP  loop

done:
	VZEROUPPER
	RET

// func geluGradAVX2(dx, x, dy *float32, n int, tab *float64)
// dx = dy * gelu'(x), gelu' from nn's table of cubics; n is a multiple of 4.
TEXT ·geluGradAVX2(SB), NOSPLIT, $0-40
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ tab+32(FP), AX
	VBROADCASTSD geluInvH<>(SB), Y15
	VBROADCASTSD geluMid<>(SB), Y14
	VBROADCASTSD geluRound<>(SB), Y13
	VBROADCASTSD geluMask<>(SB), Y12

gloop:
	CMPQ CX, $4
	JLT  gdone
	VCVTPS2PD (SI), Y0 // u
	CUBIC

	// Outside (lo, hi): u*0, or 1 from hi up.
	VXORPD Y8, Y8, Y8
	VMULPD Y8, Y0, Y8 // u*0
	VBROADCASTSD geluHi<>(SB), Y9
	VCMPPD $0x1D, Y9, Y0, Y10 // u >= hi
	VBROADCASTSD geluOne<>(SB), Y7
	VBLENDVPD Y10, Y7, Y8, Y8
	VCMPPD $0x11, Y9, Y0, Y10 // u < hi
	VBROADCASTSD geluLo<>(SB), Y9
	VCMPPD $0x1E, Y9, Y0, Y11 // u > lo
	VANDPD Y11, Y10, Y10
	VBLENDVPD Y10, Y5, Y8, Y8

	VCVTPS2PD (DX), Y9
	VMULPD Y8, Y9, Y9 // dy * gelu'
	VCVTPD2PSY Y9, X9
	VMOVUPS X9, (DI)
	ADDQ $16, SI
	ADDQ $16, DX
	ADDQ $16, DI
	SUBQ $4, CX
	JMP  gloop

gdone:
	VZEROUPPER
	RET
