package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// exportProgress shows an export's progress on stderr: a bar redrawn in place on a terminal
// (events, rate, ETA), a plain line every 5 seconds otherwise (logs, pipes).
//
// The ETA comes from the count of events left where the source knows it (--data-dir);
// through the API, from how far the events' recording times have come toward the start of the
// export (the log is in recording order), so it is an estimate.
type exportProgress struct {
	w        io.Writer
	terminal bool
	total    int64 // 0: unknown
	start    time.Time
	last     time.Time
	first    time.Time // recorded_at of the first event exported
	drawn    bool
}

func newExportProgress(w io.Writer) *exportProgress {
	now := time.Now()
	p := &exportProgress{w: w, start: now, last: now}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.terminal = true
	}
	return p
}

// eta returns the time left, ok false while it cannot be told.
func (p *exportProgress) eta(n int64, ev *v1.Event, elapsed time.Duration) (time.Duration, bool) {
	if n == 0 || elapsed <= 0 {
		return 0, false
	}
	if p.total > 0 {
		left := max(0, p.total-n)
		return time.Duration(float64(left) / float64(n) * float64(elapsed)), true
	}
	if ev == nil || p.first.IsZero() {
		return 0, false
	}
	span := p.start.Sub(p.first)
	done := ev.GetRecordedAt().AsTime().Sub(p.first)
	if span <= 0 || done <= 0 {
		return 0, false
	}
	frac := min(1, float64(done)/float64(span))
	return time.Duration(float64(elapsed) * (1 - frac) / frac), true
}

func (p *exportProgress) line(n int64, ev *v1.Event) string {
	elapsed := time.Since(p.start)
	rate := float64(n) / max(elapsed.Seconds(), 1e-3)
	s := fmt.Sprintf("%d events", n)
	if p.total > 0 {
		s = fmt.Sprintf("%d/%d events (%d%%)", n, p.total, min(100, n*100/p.total))
	}
	s += fmt.Sprintf(", %.0f/s", rate)
	if eta, ok := p.eta(n, ev, elapsed); ok {
		approx := ""
		if p.total == 0 {
			approx = "~"
		}
		s += fmt.Sprintf(", ETA %s%s", approx, eta.Round(time.Second))
	}
	return s
}

func (p *exportProgress) update(n int64, ev *v1.Event) {
	if p.first.IsZero() && ev != nil {
		p.first = ev.GetRecordedAt().AsTime()
	}
	now := time.Now()
	if p.terminal {
		if now.Sub(p.last) < 100*time.Millisecond {
			return
		}
		p.last = now
		fmt.Fprintf(p.w, "\r%s%-70s", p.bar(n), p.line(n, ev))
		p.drawn = true
		return
	}
	if now.Sub(p.last) >= 5*time.Second {
		fmt.Fprintf(p.w, "exported %s\n", p.line(n, ev))
		p.last = now
	}
}

// bar is a 20-cell bar when the total is known.
func (p *exportProgress) bar(n int64) string {
	if p.total <= 0 {
		return ""
	}
	const cells = 20
	full := int(min(cells, n*cells/p.total))
	b := make([]rune, cells)
	for i := range b {
		b[i] = '-'
		if i < full {
			b[i] = '#'
		}
	}
	return "[" + string(b) + "] "
}

func (p *exportProgress) end(n int64) {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s%-70s\n", p.bar(n), fmt.Sprintf("%d events in %s", n, time.Since(p.start).Round(time.Millisecond)))
		p.drawn = false
	}
}
