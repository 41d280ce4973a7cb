package telemetry

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// Group is one consumer group whose lag is reported, with the checkpoint its projection keeps.
type Group struct {
	Name       string
	Checkpoint func(context.Context) (eventlog.Cursor, error)
}

// GroupLag is how far one group is behind the log's head.
type GroupLag struct {
	// Events not applied yet, over every partition.
	Events int64 `json:"events"`
	// Seconds since the oldest of them was recorded, about: the age of the last event applied
	// while events wait (or, before any, the time since this process started); 0 when none do.
	Seconds float64 `json:"seconds"`
	// Error says why the lag could not be measured ("" when it was).
	Error string `json:"error,omitempty"`
}

// Lag measures the projector lag of consumer groups: as Prometheus gauges
// (switchboard_projector_lag_events and _seconds, by group) and for /readyz.
type Lag struct {
	head   func(context.Context) (eventlog.Cursor, error)
	groups []Group
	start  time.Time
	now    func() time.Time

	mu          sync.Mutex
	lastApplied map[string]time.Time // recorded_at of the last event each group applied

	eventsDesc, secondsDesc *prometheus.Desc
}

// NewLag measures groups against the head of the log.
func NewLag(head func(context.Context) (eventlog.Cursor, error), groups ...Group) *Lag {
	return &Lag{head: head, groups: groups, start: time.Now(), now: time.Now, lastApplied: map[string]time.Time{},
		eventsDesc: prometheus.NewDesc("switchboard_projector_lag_events",
			"Events in the log that the consumer group has not applied yet.", []string{"group"}, nil),
		secondsDesc: prometheus.NewDesc("switchboard_projector_lag_seconds",
			"About how long the oldest event the consumer group has not applied has waited; 0 when caught up.", []string{"group"}, nil),
	}
}

// Add measures one more group.
func (l *Lag) Add(g Group) {
	l.mu.Lock()
	l.groups = append(l.groups, g)
	l.mu.Unlock()
}

func (l *Lag) applied(group string, recordedAt time.Time) {
	l.mu.Lock()
	l.lastApplied[group] = recordedAt
	l.mu.Unlock()
}

// Measure reads the head and every group's checkpoint.
func (l *Lag) Measure(ctx context.Context) map[string]GroupLag {
	l.mu.Lock()
	groups := slices.Clone(l.groups)
	l.mu.Unlock()
	out := make(map[string]GroupLag, len(groups))
	head, err := l.head(ctx)
	for _, g := range groups {
		if err != nil {
			out[g.Name] = GroupLag{Error: "event log unreachable"}
			continue
		}
		cp, cerr := g.Checkpoint(ctx)
		if cerr != nil {
			out[g.Name] = GroupLag{Error: "checkpoint unreadable"}
			continue
		}
		var n int64
		for part, off := range head {
			if done, ok := cp[part]; !ok {
				n += off + 1
			} else if off > done {
				n += off - done
			}
		}
		gl := GroupLag{Events: n}
		if n > 0 {
			l.mu.Lock()
			since, ok := l.lastApplied[g.Name]
			l.mu.Unlock()
			if !ok {
				since = l.start
			}
			gl.Seconds = max(0, l.now().Sub(since).Seconds())
		}
		out[g.Name] = gl
	}
	return out
}

// Describe and Collect make Lag a prometheus.Collector, measured at each scrape.
func (l *Lag) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.eventsDesc
	ch <- l.secondsDesc
}

func (l *Lag) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for name, gl := range l.Measure(ctx) {
		if gl.Error != "" {
			continue
		}
		ch <- prometheus.MustNewConstMetric(l.eventsDesc, prometheus.GaugeValue, float64(gl.Events), name)
		ch <- prometheus.MustNewConstMetric(l.secondsDesc, prometheus.GaugeValue, gl.Seconds, name)
	}
}
