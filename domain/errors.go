// Package domain holds Switchboard's entities, events and rules. It imports no I/O package:
// no database, no proto, no HTTP, no Kafka.
package domain

import (
	"errors"
	"fmt"
)

// ErrorKind classifies an error so that transports map it to their codes in one place.
type ErrorKind int

const (
	// KindInternal is anything unexpected; its text never reaches a client.
	KindInternal ErrorKind = iota
	// KindInvalid is bad input; the error names the field.
	KindInvalid
	// KindNotFound is an unknown id (or another team's).
	KindNotFound
	// KindPrecondition is a broken rule given the current state.
	KindPrecondition
	// KindAlreadyExists is a unique name or id taken.
	KindAlreadyExists
	// KindUnauthenticated is a missing or unknown key.
	KindUnauthenticated
	// KindPermissionDenied is a known key that may not do this.
	KindPermissionDenied
	// KindUnavailable is an engine that cannot be reached right now; retrying may help.
	KindUnavailable
	// KindAborted is a command that lost a race with concurrent writers too many times;
	// retrying it is safe and decides on the new state.
	KindAborted
)

// Error is an error with a kind and a message safe to show to a client.
type Error struct {
	Kind  ErrorKind
	Field string
	Msg   string
	Err   error // the cause, for logs only
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid reports bad input in a field.
func Invalid(field, format string, args ...any) error {
	return &Error{Kind: KindInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// NotFound reports an unknown id.
func NotFound(what, id string) error {
	return &Error{Kind: KindNotFound, Msg: fmt.Sprintf("%s %q not found", what, id)}
}

// Precondition reports a broken rule.
func Precondition(format string, args ...any) error {
	return &Error{Kind: KindPrecondition, Msg: fmt.Sprintf(format, args...)}
}

// AlreadyExists reports a taken name.
func AlreadyExists(format string, args ...any) error {
	return &Error{Kind: KindAlreadyExists, Msg: fmt.Sprintf(format, args...)}
}

// Unauthenticated reports a missing or unknown credential.
func Unauthenticated(msg string) error {
	return &Error{Kind: KindUnauthenticated, Msg: msg}
}

// PermissionDenied reports a caller that may not do this.
func PermissionDenied(msg string) error {
	return &Error{Kind: KindPermissionDenied, Msg: msg}
}

// Unavailable wraps an engine failure that a retry may cure.
func Unavailable(what string, cause error) error {
	return &Error{Kind: KindUnavailable, Msg: what + " is unavailable, retry later", Err: cause}
}

// Aborted reports a command given up after concurrent changes; a retry may succeed.
func Aborted(format string, args ...any) error {
	return &Error{Kind: KindAborted, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err (KindInternal when it has none).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
