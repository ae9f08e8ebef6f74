package nn

import "math"

// A Schedule gives the learning rate as a function of the number of updates
// done so far. LR(n) is the rate that fairseq's step_update(num_updates=n)
// sets; a trainer that numbers its updates from 1 uses LR(k) for update k.
type Schedule interface {
	LR(step int) float64
}

// ConstantLR is a fixed learning rate.
type ConstantLR float64

// LR returns the constant rate.
func (c ConstantLR) LR(int) float64 { return float64(c) }

// PolynomialDecay is fairseq's polynomial_decay schedule: a linear warm-up
// from 0 to Peak over Warmup updates, then a decay to End that reaches it at
// Total updates and stays there:
//
//	step <= Warmup:  Peak * step / Warmup
//	step >= Total:   End
//	otherwise:       (Peak-End) * (1 - (step-Warmup)/(Total-Warmup))^Power + End
//
// A zero Power means 1 (linear decay). With Warmup 0 there is no warm-up.
type PolynomialDecay struct {
	Peak   float64
	End    float64
	Warmup int
	Total  int
	Power  float64
}

// LinearWarmupDecay returns the schedule that rises linearly from 0 to peak
// over warmup updates and falls linearly to 0 at total updates.
func LinearWarmupDecay(peak float64, warmup, total int) PolynomialDecay {
	return PolynomialDecay{Peak: peak, Warmup: warmup, Total: total, Power: 1}
}

// LR implements Schedule.
func (p PolynomialDecay) LR(step int) float64 {
	power := p.Power
	if power == 0 {
		power = 1
	}
	switch {
	case p.Warmup > 0 && step <= p.Warmup:
		return p.Peak * float64(step) / float64(p.Warmup)
	case step >= p.Total:
		return p.End
	}
	remaining := 1 - float64(step-p.Warmup)/float64(p.Total-p.Warmup)
	return (p.Peak-p.End)*math.Pow(remaining, power) + p.End
}

// TriStage is fairseq's tri_stage schedule as the wav2vec 2.0 fine-tuning
// recipes use it: the Total updates split by PhaseRatios into a warm-up from
// InitScale*Peak linearly to Peak, a hold at Peak, and an exponential decay to
// FinalScale*Peak, which then stays. Phase lengths are int(Total*ratio), as in
// fairseq. Zero values mean the defaults PhaseRatios (0.1, 0.4, 0.5),
// InitScale 0.01 and FinalScale 0.05.
type TriStage struct {
	Peak        float64
	Total       int
	PhaseRatios [3]float64
	InitScale   float64
	FinalScale  float64
}

// phases returns the warm-up, hold and decay lengths and the two scales.
func (s TriStage) phases() (warm, hold, decay int, initScale, finalScale float64) {
	r := s.PhaseRatios
	if r == ([3]float64{}) {
		r = [3]float64{0.1, 0.4, 0.5}
	}
	initScale, finalScale = s.InitScale, s.FinalScale
	if initScale == 0 {
		initScale = 0.01
	}
	if finalScale == 0 {
		finalScale = 0.05
	}
	t := float64(s.Total)
	return int(t * r[0]), int(t * r[1]), int(t * r[2]), initScale, finalScale
}

// LR implements Schedule.
func (s TriStage) LR(step int) float64 {
	warm, hold, decay, initScale, finalScale := s.phases()
	initLR, finalLR := initScale*s.Peak, finalScale*s.Peak
	if step < warm {
		return initLR + (s.Peak-initLR)/float64(warm)*float64(step)
	}
	step -= warm
	if step < hold {
		return s.Peak
	}
	step -= hold
	if step <= decay {
		if decay == 0 {
			return finalLR
		}
		factor := -math.Log(finalScale) / float64(decay)
		return s.Peak * math.Exp(-factor*float64(step))
	}
	return finalLR
}
