package connectrpc

import (
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// The positions of the watch streams (after_position, ThreadChange.position, and the position
// ListThreads and ListMessages answer) meet their text form only here.

// encodeWatchPosition renders how far a stream (or a page) has seen the log.
func encodeWatchPosition(c eventlog.Cursor) string { return c.String() }

// decodeWatchPosition parses a position a client sends back; "" is "not given".
func decodeWatchPosition(field, s string) (eventlog.Cursor, error) {
	c, err := eventlog.ParseCursor(s)
	if err != nil {
		return nil, domain.Invalid(field, "must be a position returned by the API (a change's, a heartbeat's or ListThreads'), like 0-42")
	}
	return c, nil
}
