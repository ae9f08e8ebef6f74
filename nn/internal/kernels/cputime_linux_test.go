//go:build linux

package kernels

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports GFLOP per CPU-second since start: a figure that other
// processes sharing the cores disturb less than wall-clock GFLOP/s.
func reportCPU(b *testing.B, start time.Duration, flops float64) {
	if d := cpuTime() - start; d > 0 {
		b.ReportMetric(flops*float64(b.N)/d.Seconds()/1e9, "GFLOP/cpu-s")
	}
}
