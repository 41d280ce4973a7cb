package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/switchboard-oss/switchboard/domain"
)

// bulkOp is one document action of a bulk request.
type bulkOp struct {
	action    string // "index" or "delete"
	id        string // the document's _id
	messageID string // for errors
	body      []byte // the _source; nil for a delete
}

// ItemError is one document Elasticsearch did not write.
type ItemError struct {
	MessageID string
	Status    int    // the item's HTTP status; 0 when the whole request failed
	Type      string // e.g. "mapper_parsing_exception"
	Reason    string
}

func (e ItemError) temporary() bool { return e.Status == 0 || temporaryStatus(e.Status) }

func (e ItemError) String() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s (%s)", e.MessageID, e.Reason)
	}
	return fmt.Sprintf("%s (%d %s: %s)", e.MessageID, e.Status, e.Type, e.Reason)
}

// BulkError reports the documents of one Put or Delete that were not written, after every
// retry. When every failure was transient (429, 5xx, no answer) it reaches the caller wrapped
// in a domain Unavailable error.
type BulkError struct {
	Action string // "index" or "delete"
	Total  int    // documents in the call
	Failed []ItemError
}

func (e *BulkError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "elasticsearch: %d of %d documents failed to %s: ", len(e.Failed), e.Total, e.Action)
	const show = 3
	for n, f := range e.Failed {
		if n == show {
			fmt.Fprintf(&b, ", and %d more", len(e.Failed)-show)
			break
		}
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// Temporary reports whether a later retry may write every failed document.
func (e *BulkError) Temporary() bool {
	for _, f := range e.Failed {
		if !f.temporary() {
			return false
		}
	}
	return true
}

var errItemsToRetry = errors.New("documents refused with a transient status")

// bulk writes ops with _bulk requests and accounts for every one of them: a document is
// written, or retried, or reported in the returned *BulkError; none is dropped silently.
//
// Two layers of retry: the transport resends a whole bulk request answered 429/502/503/504
// (Config.MaxRetries); here, documents refused one by one with 429 or 5xx (a full write queue
// on one shard, a relocating primary) are sent again in a new bulk request, after a backoff
// (Config.ItemRetries). Documents refused for good (400 mapper_parsing_exception, …) are not
// retried.
//
// Through the alias, bulk requests carry refresh=wait_for, so Put and Delete return only once
// searches see their effect: the projector then never stores a checkpoint ahead of what search
// shows. The price is latency, up to the index refresh interval (1s by default) per call, but
// no extra segments as refresh=true would make, so batching many documents per call keeps
// throughput. A Reindex target skips it and refreshes once before the switch.
func (i *Index) bulk(ctx context.Context, action string, ops []bulkOp) error {
	ops = lastPerID(ops)
	if len(ops) == 0 {
		return nil
	}
	pending := ops
	var last []ItemError // the latest refusal of each pending document
	var failed []ItemError
	round := 0
	// Retry's own error is only ever errItemsToRetry or ctx's: what was not written is in
	// pending and failed, and is reported from them below.
	_, _ = backoff.Retry(ctx, func() (struct{}, error) {
		round++
		retry, retryErrs, final := i.bulkRound(ctx, pending)
		failed = append(failed, final...)
		pending, last = retry, retryErrs
		if len(pending) > 0 {
			return struct{}{}, errItemsToRetry
		}
		return struct{}{}, nil
	},
		backoff.WithBackOff(i.cfg.newBackOff()),
		backoff.WithMaxTries(uint(i.cfg.ItemRetries)+1),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(_ error, d time.Duration) {
			i.log.Warn("elasticsearch: resending refused documents", "action", action, "documents", len(pending), "round", round, "after", d)
		}),
	)
	for n, op := range pending {
		e := last[n]
		if e.MessageID == "" {
			e = ItemError{MessageID: op.messageID, Reason: "not written"}
		}
		if ctx.Err() != nil && e.Status == 0 {
			e.Reason = "not written: " + ctx.Err().Error()
		}
		failed = append(failed, e)
	}
	if len(failed) == 0 {
		return nil
	}
	be := &BulkError{Action: action, Total: len(ops), Failed: failed}
	i.log.Warn("elasticsearch: documents not written", "action", action, "failed", len(failed), "total", len(ops))
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%w: %w", be, context.Canceled)
	}
	if be.Temporary() {
		return domain.Unavailable(unavailableWhat, be)
	}
	return be
}

// lastPerID keeps the last action on each document: bulkRound spreads documents over
// parallel requests, which would otherwise race.
func lastPerID(ops []bulkOp) []bulkOp {
	last := make(map[string]int, len(ops))
	for n, op := range ops {
		last[op.id] = n
	}
	if len(last) == len(ops) {
		return ops
	}
	out := make([]bulkOp, 0, len(last))
	for n, op := range ops {
		if last[op.id] == n {
			out = append(out, op)
		}
	}
	return out
}

// outcome of one document in one round.
type outcome struct {
	answered bool
	ok       bool
	err      ItemError
}

// bulkRound sends ops once, in bulk requests of at most FlushBytes, BulkWorkers of them in
// parallel, and returns the ops to send again (with their refusals) and the documents refused
// for good. It returns only after every request it made has been answered.
func (i *Index) bulkRound(ctx context.Context, ops []bulkOp) (retry []bulkOp, retryErrs, final []ItemError) {
	outcomes := make([]outcome, len(ops))
	sem := make(chan struct{}, i.cfg.BulkWorkers)
	var wg sync.WaitGroup
	for lo := 0; lo < len(ops); {
		hi, body := i.bulkBody(ops, lo)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break // the documents not sent stay unanswered below
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer func() { <-sem; wg.Done() }()
			i.sendBulk(ctx, ops[lo:hi], body, outcomes[lo:hi])
		}(lo, hi)
		lo = hi
	}
	wg.Wait()

	for n, o := range outcomes {
		switch {
		case o.ok:
		case !o.answered || o.err.temporary():
			retry = append(retry, ops[n])
			retryErrs = append(retryErrs, o.err)
		default:
			final = append(final, o.err)
		}
	}
	return retry, retryErrs, final
}

// bulkBody writes the NDJSON body of ops[lo:hi], as many ops from lo as fit in FlushBytes (at
// least one).
func (i *Index) bulkBody(ops []bulkOp, lo int) (hi int, body []byte) {
	var b bytes.Buffer
	for hi = lo; hi < len(ops); hi++ {
		op := ops[hi]
		meta, _ := json.Marshal(map[string]map[string]string{op.action: {"_id": op.id}})
		if hi > lo && b.Len()+len(meta)+len(op.body)+2 > i.cfg.FlushBytes {
			break
		}
		b.Write(meta)
		b.WriteByte('\n')
		if op.body != nil {
			b.Write(op.body)
			b.WriteByte('\n')
		}
	}
	return hi, b.Bytes()
}

// bulkResponseBody is the part of a _bulk answer read here: one item per action, in order.
type bulkResponseBody struct {
	Items []map[string]struct {
		Status int `json:"status"`
		Error  struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	} `json:"items"`
}

// sendBulk sends one bulk request and records the outcome of each of its ops in out.
func (i *Index) sendBulk(ctx context.Context, ops []bulkOp, body []byte, out []outcome) {
	req := esapi.BulkRequest{Index: i.readTarget(), Body: bytes.NewReader(body), Refresh: i.refresh}
	if i.target == "" {
		yes := true
		req.RequireAlias = &yes // never let a write auto-create an index named like the alias
	}
	res, err := req.Do(ctx, i.es)
	var resBody []byte
	if err == nil {
		resBody, err = io.ReadAll(res.Body)
		_ = res.Body.Close()
	}
	whole := func(status int, typ, reason string) { // the request as a whole failed
		for n, op := range ops {
			out[n] = outcome{answered: true, err: ItemError{MessageID: op.messageID, Status: status, Type: typ,
				Reason: truncate(i.redact.scrub(reason), maxReasonLen)}}
		}
	}
	switch {
	case err != nil: // no answer, after the transport's retries: transient
		whole(0, "", "bulk: "+err.Error())
		return
	case res.StatusCode/100 != 2:
		var re *ResponseError
		if errors.As(i.responseError("bulk", res.StatusCode, resBody), &re) {
			whole(re.Status, re.Type, re.Reason)
		}
		return
	}
	var rb bulkResponseBody
	if err := json.Unmarshal(resBody, &rb); err != nil || len(rb.Items) != len(ops) {
		whole(0, "", fmt.Sprintf("bulk: unreadable answer (%d items for %d documents)", len(rb.Items), len(ops)))
		return
	}
	for n, op := range ops {
		for _, item := range rb.Items[n] { // one key: the action
			out[n] = i.classify(op, item.Status, item.Error.Type, item.Error.Reason)
		}
	}
}

// classify reads the answer to one item: a 2xx is written, a delete of a missing document
// succeeded; 429 and 5xx are transient; any other status is final.
func (i *Index) classify(op bulkOp, status int, typ, reason string) outcome {
	if status/100 == 2 || (op.action == "delete" && status == http.StatusNotFound && typ == "") {
		return outcome{answered: true, ok: true}
	}
	return outcome{answered: true, err: ItemError{
		MessageID: op.messageID,
		Status:    status,
		Type:      typ,
		Reason:    truncate(i.redact.scrub(reason), maxReasonLen),
	}}
}
