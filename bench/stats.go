package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Figure is one measured result: a rate (Value per Unit), a latency distribution, or both.
type Figure struct {
	Section string  `json:"section"`
	Name    string  `json:"name"`
	Unit    string  `json:"unit,omitempty"`  // of Value: "msg/s", "events/s", "s", …
	Value   float64 `json:"value,omitempty"` // a rate or a duration, per Unit
	P50     float64 `json:"p50_ms,omitempty"`
	P99     float64 `json:"p99_ms,omitempty"`
	Max     float64 `json:"max_ms,omitempty"`
	N       int     `json:"n,omitempty"` // samples behind P50/P99, or items behind Value
	Note    string  `json:"note,omitempty"`
}

// Samples gathers latencies from any number of goroutines.
type Samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *Samples) Add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *Samples) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.d)
}

// Latency fills a figure's P50, P99 and Max (milliseconds) with the nearest-rank percentiles.
func (s *Samples) Latency(f Figure) Figure {
	s.mu.Lock()
	d := slices.Clone(s.d)
	s.mu.Unlock()
	f.N = len(d)
	if len(d) == 0 {
		return f
	}
	slices.Sort(d)
	f.P50, f.P99, f.Max = ms(percentile(d, 50)), ms(percentile(d, 99)), ms(d[len(d)-1])
	return f
}

// percentile is the nearest-rank percentile of sorted d.
func percentile(d []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}

func ms(d time.Duration) float64 { return round(float64(d) / float64(time.Millisecond)) }

// round keeps three significant decimals: figures, not noise.
func round(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	scale := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	if scale < 1 {
		return math.Round(v)
	}
	return math.Round(v*scale) / scale
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round(float64(n) / d.Seconds())
}
