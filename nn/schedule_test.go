package nn

import (
	"math"
	"testing"
)

func TestSchedules(t *testing.T) {
	lin := LinearWarmupDecay(1e-3, 10, 110)
	poly := PolynomialDecay{Peak: 5e-4, End: 1e-5, Warmup: 4, Total: 20, Power: 2}
	// Tri-stage over 100 updates: warm-up 10, hold 40, decay 50.
	tri := TriStage{Peak: 5e-5, Total: 100}
	// Odd total: int(13*0.1)=1, int(13*0.4)=5, int(13*0.5)=6.
	tri13 := TriStage{Peak: 1, Total: 13}
	decay := -math.Log(0.05) / 50
	tests := []struct {
		name  string
		sched Schedule
		step  int
		want  float64
	}{
		{"constant", ConstantLR(0.25), 7, 0.25},
		{"linear/0", lin, 0, 0},
		{"linear/warm", lin, 5, 5e-4},
		{"linear/peak", lin, 10, 1e-3},
		{"linear/decay", lin, 35, 1e-3 * 0.75},
		{"linear/end", lin, 110, 0},
		{"linear/after", lin, 500, 0},
		{"poly/warm", poly, 1, 5e-4 / 4},
		{"poly/peak", poly, 4, 5e-4},
		// remaining = 1 - 8/16 = 0.5; (5e-4-1e-5)*0.25 + 1e-5.
		{"poly/half", poly, 12, 4.9e-4*0.25 + 1e-5},
		{"poly/end", poly, 20, 1e-5},
		{"poly/nowarmup", PolynomialDecay{Peak: 2, Total: 4}, 0, 2},
		{"poly/nowarmup/1", PolynomialDecay{Peak: 2, Total: 4}, 1, 1.5},
		{"poly/zeropower", PolynomialDecay{Peak: 2, Total: 4}, 3, 0.5},
		{"tri/0", tri, 0, 5e-7},
		// warm-up rate (5e-5 - 5e-7)/10 per step.
		{"tri/warm", tri, 4, 5e-7 + 4*(5e-5-5e-7)/10},
		{"tri/hold start", tri, 10, 5e-5},
		{"tri/hold end", tri, 49, 5e-5},
		{"tri/decay start", tri, 50, 5e-5},
		{"tri/decay", tri, 75, 5e-5 * math.Exp(-decay*25)},
		{"tri/decay end", tri, 100, 5e-5 * 0.05},
		{"tri/after", tri, 1000, 5e-5 * 0.05},
		{"tri13/0", tri13, 0, 0.01},
		{"tri13/hold", tri13, 1, 1},
		{"tri13/hold end", tri13, 5, 1},
		{"tri13/decay", tri13, 9, math.Exp(math.Log(0.05) / 6 * 3)},
		{"tri13/final", tri13, 12, 0.05},
		{"tri/custom", TriStage{Peak: 1, Total: 10, PhaseRatios: [3]float64{0.5, 0, 0.5}, InitScale: 0.5, FinalScale: 0.5}, 1, 0.6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.sched.LR(tc.step)
			if math.Abs(got-tc.want) > 1e-12*math.Max(1, math.Abs(tc.want)) {
				t.Errorf("LR(%d) = %.17g, want %.17g", tc.step, got, tc.want)
			}
		})
	}
}
