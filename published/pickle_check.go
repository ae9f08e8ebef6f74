package published

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Argument kinds of the pickle opcodes (Python's pickletools): a fixed
// number of bytes, a length of 1, 4 or 8 bytes followed by that many
// bytes, or lines ending in a newline.
const (
	argNone = iota
	arg1
	arg2
	arg4
	arg8
	argLen1
	argLen4
	argLen8
	argLine
	argLine2
)

// opArgs gives the argument kind of every opcode of protocols 0 to 5;
// others are unknown.
var opArgs = func() [256]int8 {
	var a [256]int8
	for i := range a {
		a[i] = -1
	}
	for _, op := range "(.0125Nde)tlsaubRoQ}]" {
		a[op] = argNone
	}
	for _, op := range []byte{0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98} {
		a[op] = argNone
	}
	for _, op := range []byte{0x80, 'K', 'h', 'q', 0x82} {
		a[op] = arg1
	}
	for _, op := range []byte{'M', 0x83} {
		a[op] = arg2
	}
	for _, op := range []byte{'J', 'j', 'r', 0x84} {
		a[op] = arg4
	}
	for _, op := range []byte{'G', 0x95} {
		a[op] = arg8
	}
	for _, op := range []byte{'U', 'C', 0x8c, 0x8a} {
		a[op] = argLen1
	}
	for _, op := range []byte{'T', 'B', 'X', 0x8b} {
		a[op] = argLen4
	}
	for _, op := range []byte{0x8d, 0x8e, 0x96} {
		a[op] = argLen8
	}
	for _, op := range "ILFSVPgp" {
		a[op] = argLine
	}
	for _, op := range "ci" {
		a[op] = argLine2
	}
	return a
}()

// checkPickle scans a pickle's opcodes up to its STOP and checks that
// every opcode is known and every length it gives (of a string, of a
// frame) fits in the bytes that follow, so that the unpickler, which
// allocates a length before reading it, never allocates more than the
// pickle holds.
func checkPickle(p []byte) error {
	_, err := pickleEnd(p)
	return err
}

// pickleEnd is checkPickle that also returns the offset just past the
// pickle's STOP, where a file's next pickle or data begins.
func pickleEnd(p []byte) (int, error) {
	i := 0
	for i < len(p) {
		op := p[i]
		at := i
		i++
		kind := opArgs[op]
		if kind < 0 {
			return 0, fmt.Errorf("unknown pickle opcode 0x%02x at byte %d", op, at)
		}
		rest := uint64(len(p) - i)
		var n uint64
		switch kind {
		case arg1:
			n = 1
		case arg2:
			n = 2
		case arg4:
			n = 4
		case arg8:
			n = 8
		case argLen1, argLen4, argLen8:
			w := map[int8]uint64{argLen1: 1, argLen4: 4, argLen8: 8}[kind]
			if rest < w {
				return 0, fmt.Errorf("pickle opcode 0x%02x at byte %d: truncated length", op, at)
			}
			var l uint64
			switch w {
			case 1:
				l = uint64(p[i])
			case 4:
				l = uint64(binary.LittleEndian.Uint32(p[i:]))
			case 8:
				l = binary.LittleEndian.Uint64(p[i:])
			}
			if l > rest-w {
				return 0, fmt.Errorf("pickle opcode 0x%02x at byte %d: a length of %d with %d bytes left", op, at, l, rest-w)
			}
			n = w + l
		case argLine, argLine2:
			lines := 1
			if kind == argLine2 {
				lines = 2
			}
			j := i
			for range lines {
				k := bytes.IndexByte(p[j:], '\n')
				if k < 0 {
					return 0, fmt.Errorf("pickle opcode 0x%02x at byte %d: unterminated line", op, at)
				}
				j += k + 1
			}
			n = uint64(j - i)
		}
		if n > rest {
			return 0, fmt.Errorf("pickle opcode 0x%02x at byte %d: truncated", op, at)
		}
		if op == 0x95 { // FRAME: its length must fit too
			if l := binary.LittleEndian.Uint64(p[i:]); l > rest-8 {
				return 0, fmt.Errorf("pickle frame at byte %d: %d bytes with %d left", at, l, rest-8)
			}
		}
		i += int(n)
		if op == '.' {
			return i, nil
		}
	}
	return 0, fmt.Errorf("pickle without STOP")
}
