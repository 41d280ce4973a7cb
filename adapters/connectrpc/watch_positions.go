package connectrpc

import (
	"github.com/switchboard-oss/switchboard/eventlog"
)

// The positions of the watch streams (after_position, ThreadChange.position, and the position
// ListThreads and ListMessages answer) meet their text form only here: the team's opaque
// position tokens (positions.go), like every other position of the API.

// encodeWatchPosition renders how far a stream (or a page) has seen the log.
func encodeWatchPosition(d Deps, teamID string, c eventlog.Cursor) string {
	return d.Positions.Encode(teamID, c)
}

// decodeWatchPosition parses a position a client sends back; "" is "not given".
func decodeWatchPosition(d Deps, teamID, field, s string) (eventlog.Cursor, error) {
	return d.Positions.Decode(teamID, field, s)
}
