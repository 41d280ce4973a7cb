package domain

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// assertInvalid checks that err is bad input whose text names field.
func assertInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Errorf("want an invalid %s error, got nil", field)
		return
	}
	if k := KindOf(err); k != KindInvalid {
		t.Errorf("KindOf(%v) = %v, want KindInvalid", err, k)
	}
	if !strings.Contains(err.Error(), field) {
		t.Errorf("error %q does not name the field %q", err, field)
	}
}

func TestKindOf(t *testing.T) {
	cause := errors.New("disk on fire")
	cases := []struct {
		name string
		err  error
		want ErrorKind
	}{
		{"nil", nil, KindInternal},
		{"plain error", cause, KindInternal},
		{"invalid", Invalid("name", "is required"), KindInvalid},
		{"not found", NotFound("thread", "thr_x"), KindNotFound},
		{"precondition", Precondition("thread %s is done", "thr_x"), KindPrecondition},
		{"already exists", AlreadyExists("tag %q exists", "VIP"), KindAlreadyExists},
		{"unauthenticated", Unauthenticated("no key"), KindUnauthenticated},
		{"permission denied", PermissionDenied("owners only"), KindPermissionDenied},
		{"unavailable", Unavailable("the event log", cause), KindUnavailable},
		{"wrapped once", fmt.Errorf("handler: %w", NotFound("tag", "tag_x")), KindNotFound},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", Precondition("no"))), KindPrecondition},
		{"joined", errors.Join(cause, PermissionDenied("no")), KindPermissionDenied},
		{"wrapped with %v loses the kind", fmt.Errorf("x: %v", Invalid("f", "bad")), KindInternal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := KindOf(c.err); got != c.want {
				t.Errorf("KindOf(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.7:9092: connection refused")
	cases := []struct {
		err  error
		want string
	}{
		{Invalid("thread_id", "must be an id starting with %q", "thr_"), `thread_id: must be an id starting with "thr_"`},
		{NotFound("thread", "thr_x"), `thread "thr_x" not found`},
		{Precondition("thread %s is not done", "thr_x"), "thread thr_x is not done"},
		// The cause is for logs: its internals never reach the client's text.
		{Unavailable("the event log", cause), "the event log is unavailable, retry later"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
	if !errors.Is(Unavailable("the event log", cause), cause) {
		t.Error("Unavailable does not unwrap to its cause")
	}
}
