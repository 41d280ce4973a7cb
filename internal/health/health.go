// Package health keeps the state of the parts of a process that fail and recover by themselves
// (projectors retrying a full disk, an index reopening after a fault), for /readyz and the log.
package health

import (
	"errors"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

// Part is one such part: the last outcome of its work.
type Part struct {
	mu    sync.Mutex
	err   error
	since time.Time
}

// Observe records the outcome of one attempt: nil clears a failure.
func (p *Part) Observe(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.err = nil
		return
	}
	if p.err == nil {
		p.since = time.Now()
	}
	p.err = err
}

// State returns nil while the part works, else why it does not, in words safe to show (never
// the cause's own text: it may name files, SQL or data).
func (p *Part) State() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		return nil
	}
	return errors.New(Reason(p.err) + " since " + p.since.UTC().Format(time.RFC3339))
}

// Reason says in a few safe words what kind of fault err is.
func Reason(err error) string {
	switch {
	case err == nil:
		return "ok"
	case NoSpace(err):
		return "disk full: paused, retrying with backoff"
	case Corrupt(err):
		return "corrupt: being rebuilt from the event log"
	case errors.Is(err, ErrPanic):
		return "a fault inside its engine was contained: retrying with backoff"
	}
	var de *domain.Error
	if errors.As(err, &de) && de.Kind != domain.KindInternal {
		return de.Msg
	}
	return "failing: paused, retrying with backoff (see the log)"
}

// ErrPanic marks an error made of a recovered panic.
var ErrPanic = errors.New("panic")

// NoSpace reports a full disk or quota (SQLite says "database or disk is full").
func NoSpace(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "no space left on device") || strings.Contains(s, "database or disk is full") ||
		strings.Contains(s, "SQLITE_FULL")
}

// Corrupt reports a store that says its files are damaged (SQLite: "database disk image is
// malformed", SQLITE_CORRUPT, SQLITE_NOTADB).
func Corrupt(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "malformed") || strings.Contains(s, "SQLITE_CORRUPT") ||
		strings.Contains(s, "SQLITE_NOTADB") || strings.Contains(s, "file is not a database")
}
