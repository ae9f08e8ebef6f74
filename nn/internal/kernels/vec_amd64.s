//go:build amd64 && !purego

#include "textflag.h"

// func addToAVX2(dst, src *float32, n int)
TEXT ·addToAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

add32:
	CMPQ CX, $32
	JLT  add8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VADDPS  (SI), Y0, Y0
	VADDPS  32(SI), Y1, Y1
	VADDPS  64(SI), Y2, Y2
	VADDPS  96(SI), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $128, SI
	SUBQ    $32, CX
	JMP     add32

add8:
	CMPQ CX, $8
	JLT  addTail
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     add8

addTail:
	TESTQ CX, CX
	JZ    addDone
	VMOVSS (DI), X0
	VADDSS (SI), X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   $4, SI
	DECQ   CX
	JMP    addTail

addDone:
	VZEROUPPER
	RET

// func addSquaredDiffAVX2(dst, x, m *float32, n int)
TEXT ·addSquaredDiffAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ n+24(FP), CX

sq16:
	CMPQ CX, $16
	JLT  sq8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSUBPS  (DX), Y0, Y0
	VSUBPS  32(DX), Y1, Y1
	VMULPS  Y0, Y0, Y0
	VMULPS  Y1, Y1, Y1
	VADDPS  (DI), Y0, Y0
	VADDPS  32(DI), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	ADDQ    $64, DX
	SUBQ    $16, CX
	JMP     sq16

sq8:
	CMPQ CX, $8
	JLT  sqTail
	VMOVUPS (SI), Y0
	VSUBPS  (DX), Y0, Y0
	VMULPS  Y0, Y0, Y0
	VADDPS  (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     sq8

sqTail:
	TESTQ CX, CX
	JZ    sqDone
	VMOVSS (SI), X0
	VSUBSS (DX), X0, X0
	VMULSS X0, X0, X0
	VADDSS (DI), X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   $4, SI
	ADDQ   $4, DX
	DECQ   CX
	JMP    sqTail

sqDone:
	VZEROUPPER
	RET

// func normAffineAVX2(y, x, m, r *float32, n int, gain, bias float32)
TEXT ·normAffineAVX2(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ r+24(FP), R8
	MOVQ n+32(FP), CX
	VBROADCASTSS gain+40(FP), Y14
	VBROADCASTSS bias+44(FP), Y15

na8:
	CMPQ CX, $8
	JLT  naTail
	VMOVUPS (SI), Y0
	VSUBPS  (DX), Y0, Y0
	VMULPS  (R8), Y0, Y0
	VMULPS  Y14, Y0, Y0
	VADDPS  Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	SUBQ    $8, CX
	JMP     na8

naTail:
	TESTQ CX, CX
	JZ    naDone
	VMOVSS (SI), X0
	VSUBSS (DX), X0, X0
	VMULSS (R8), X0, X0
	VMULSS X14, X0, X0
	VADDSS X15, X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   $4, SI
	ADDQ   $4, DX
	ADDQ   $4, R8
	DECQ   CX
	JMP    naTail

naDone:
	VZEROUPPER
	RET
