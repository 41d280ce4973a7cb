package elasticsearch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/internal/redact"
)

// unavailableWhat names the engine in the client-safe text of an Unavailable error.
const unavailableWhat = "search index"

// ResponseError is an error answer from Elasticsearch: its HTTP status and the error type and
// reason from its body. A 429 or 5xx one reaches callers wrapped in a domain Unavailable error
// (errors.As still finds it).
type ResponseError struct {
	Op     string // what was asked, e.g. "create index"
	Status int
	Type   string // e.g. "resource_already_exists_exception"
	Reason string
}

func (e *ResponseError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("elasticsearch %s: HTTP %d: %s", e.Op, e.Status, e.Reason)
	}
	return fmt.Sprintf("elasticsearch %s: HTTP %d %s: %s", e.Op, e.Status, e.Type, e.Reason)
}

// Temporary reports whether retrying later may cure it: rejected (429) or a server fault (5xx).
func (e *ResponseError) Temporary() bool { return temporaryStatus(e.Status) }

func temporaryStatus(status int) bool { return status == 429 || status >= 500 }

// maxReasonLen bounds an error reason: Elasticsearch quotes document values in some reasons
// (mapper_parsing_exception previews the field), and message text does not belong in logs.
const maxReasonLen = 200

// esErrorBody is Elasticsearch's error answer: {"error": {...}, "status": N}, where "error" is
// an object ({"root_cause": [...], "type", "reason", "caused_by"}) or, for a few APIs such as
// GET _alias, a plain string.
type esErrorBody struct {
	Error  json.RawMessage `json:"error"`
	Status int             `json:"status"`
}

type esErrorCause struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// redactor removes credentials from text that may reach an error or a log line.
type redactor []string

func newRedactor(cfg Config, urlSecrets []string) redactor {
	var r redactor
	add := func(s string) {
		if s != "" {
			r = append(r, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	add(cfg.Password)
	add(cfg.APIKey)
	for _, s := range urlSecrets {
		add(s)
	}
	if cfg.Username != "" && cfg.Password != "" {
		add(base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + cfg.Password)))
	}
	return r
}

func (r redactor) scrub(s string) string { return redact.Secrets(s, r...) }

// responseError turns a non-2xx answer into an error: Unavailable for 429 and 5xx (after the
// transport's own retries), a plain *ResponseError otherwise.
func (i *Index) responseError(op string, status int, body []byte) error {
	e := &ResponseError{Op: op, Status: status}
	var eb esErrorBody
	if json.Unmarshal(body, &eb) == nil && len(eb.Error) > 0 {
		var c esErrorCause
		var s string
		switch {
		case json.Unmarshal(eb.Error, &c) == nil:
			e.Type, e.Reason = c.Type, c.Reason
		case json.Unmarshal(eb.Error, &s) == nil:
			e.Reason = s
		}
	}
	if e.Type == "" && e.Reason == "" {
		e.Reason = strings.TrimSpace(string(body))
	}
	e.Reason = truncate(i.redact.scrub(e.Reason), maxReasonLen)
	if e.Temporary() {
		i.log.Warn("elasticsearch request failed", "op", op, "status", status, "type", e.Type)
		return domain.Unavailable(unavailableWhat, e)
	}
	return e
}

// transportError turns a failed round trip (no answer at all) into an error. The cause is
// rebuilt from scrubbed text, so no credential can hide in its chain.
func (i *Index) transportError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("elasticsearch %s: %w", op, context.Canceled)
		}
		return domain.Unavailable(unavailableWhat, fmt.Errorf("elasticsearch %s: %w", op, context.DeadlineExceeded))
	}
	msg := i.redact.scrub(err.Error())
	i.log.Warn("elasticsearch unreachable", "op", op, "error", msg)
	return domain.Unavailable(unavailableWhat, fmt.Errorf("elasticsearch %s: %s", op, msg))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
