package eventlog

import (
	"errors"
	"fmt"

	"github.com/switchboard-oss/switchboard/domain"
)

// CheckStreamBatch checks AppendStream's arguments, for every adapter: a valid expected version
// and valid events, all of the given team and key.
func CheckStreamBatch(teamID, key string, expected int64, events []domain.Event) error {
	if teamID == "" || key == "" {
		return errors.New("append stream: team and key required")
	}
	if expected < ExpectAny {
		return fmt.Errorf("append stream: expected version %d is not a version", expected)
	}
	for _, e := range events {
		if e.TeamID != teamID || e.Key != key {
			return fmt.Errorf("append stream: event %s is of %s/%s, not of stream %s/%s", e.ID, e.TeamID, e.Key, teamID, key)
		}
	}
	return nil
}

// CheckStreamRead checks ReadStream's arguments, for every adapter.
func CheckStreamRead(teamID, key string, after int64, limit int) error {
	switch {
	case teamID == "" || key == "":
		return errors.New("read stream: team and key required")
	case after < 0:
		return fmt.Errorf("read stream: after %d is not a version", after)
	case limit <= 0:
		return errors.New("read stream: limit must be positive")
	}
	return nil
}
