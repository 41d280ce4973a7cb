package meta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// ID is a Meta id. Ids are strings in the docs, but some arrive as JSON numbers (app_id,
// sticker_id, attachment_id); both decode, exactly as written (no float rounding).
type ID string

// UnmarshalJSON accepts a string, a number or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*id = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("meta: id is neither a string nor a number: %s", b)
	}
	*id = ID(n.String())
	return nil
}

// Int is an integer Meta sends as a JSON number (Messenger times, in ms) or as a string of
// digits (WhatsApp times, in seconds).
type Int int64

// UnmarshalJSON accepts a number, a numeric string or null; anything else is an error, so the
// element it is in is recorded raw rather than read wrong.
func (n *Int) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*n = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = Int(v)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f > math.MaxInt64 || f < math.MinInt64 {
		return fmt.Errorf("meta: not an integer: %s", b)
	}
	*n = Int(f)
	return nil
}

// maxUnix is 9999-12-31T23:59:59Z: later times cannot be carried by events (protobuf
// Timestamp), so they count as not given.
const maxUnix = 253402300799

// Millis is an epoch-milliseconds time (Messenger and Instagram timestamp, time, watermark).
// Zero, less or beyond year 9999 is "not given": the zero time.
func Millis(ms Int) time.Time {
	if ms <= 0 || ms > maxUnix*1000 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}

// Seconds is an epoch-seconds time (WhatsApp timestamps, and Messenger's few second fields).
// Zero, less or beyond year 9999 is "not given".
func Seconds(s Int) time.Time {
	if s <= 0 || s > maxUnix {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}

// FirstTime returns the first non-zero time: an element's own time, then its envelope's.
func FirstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}
