package elasticsearch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/elastic/go-elasticsearch/v8/esutil"

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

// bulk writes ops with esutil.BulkIndexer and accounts for every one of them: a document is
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

// lastPerID keeps the last action on each document: the bulk indexer spreads documents over
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

// bulkRound sends ops once through a fresh BulkIndexer and returns the ops to send again (with
// their refusals) and the documents refused for good. It returns only after the indexer is
// closed, that is after every request it made has been answered.
func (i *Index) bulkRound(ctx context.Context, ops []bulkOp) (retry []bulkOp, retryErrs, final []ItemError) {
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:       i.es,
		Index:        i.readTarget(),
		Refresh:      i.refresh,
		RequireAlias: i.target == "", // never let a write auto-create an index named like the alias
		NumWorkers:   i.cfg.BulkWorkers,
		FlushBytes:   i.cfg.FlushBytes,
		// Put closes the indexer, which flushes; the timer would only split a call's requests.
		FlushInterval: time.Hour,
	})
	if err != nil {
		for _, op := range ops {
			final = append(final, ItemError{MessageID: op.messageID, Reason: i.redact.scrub(err.Error())})
		}
		return nil, nil, final
	}

	var mu sync.Mutex
	outcomes := make([]outcome, len(ops))
	set := func(n int, o outcome) {
		mu.Lock()
		outcomes[n] = o
		mu.Unlock()
	}
	for n, op := range ops {
		item := esutil.BulkIndexerItem{
			Action:     op.action,
			DocumentID: op.id,
			OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
				set(n, outcome{answered: true, ok: true})
			},
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				set(n, i.classify(op, res, err))
			},
		}
		if op.body != nil {
			item.Body = bytes.NewReader(op.body)
		}
		if err := bi.Add(ctx, item); err != nil {
			break // ctx is done; the documents not added stay unanswered below
		}
	}
	if err := bi.Close(ctx); err != nil {
		i.log.Warn("elasticsearch: bulk indexer did not finish", "error", i.redact.scrub(err.Error()))
	}

	mu.Lock()
	defer mu.Unlock()
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

// classify reads a failed item: a delete of a missing document succeeded; 429 and 5xx, or no
// answer at all, are transient; any other status is final.
func (i *Index) classify(op bulkOp, res esutil.BulkIndexerResponseItem, err error) outcome {
	if err != nil {
		// The whole request failed after the transport's retries: no answer (status 0,
		// transient), or an error status for the request as a whole.
		return outcome{answered: true, err: ItemError{
			MessageID: op.messageID,
			Status:    flushStatus(err),
			Reason:    truncate(i.redact.scrub(err.Error()), maxReasonLen),
		}}
	}
	if op.action == "delete" && res.Status == http.StatusNotFound && res.Error.Type == "" {
		return outcome{answered: true, ok: true}
	}
	return outcome{answered: true, err: ItemError{
		MessageID: op.messageID,
		Status:    res.Status,
		Type:      res.Error.Type,
		Reason:    truncate(i.redact.scrub(res.Error.Reason), maxReasonLen),
	}}
}

// flushStatus digs the HTTP status out of the bulk indexer's error for a request answered with
// an error status, "flush: [400 Bad Request] {…}" (esapi.Response.String); 0 when there was no
// answer. The indexer hands over no other trace of it.
func flushStatus(err error) int {
	_, rest, ok := strings.Cut(err.Error(), "flush: [")
	if !ok || len(rest) < 4 || rest[3] != ' ' {
		return 0
	}
	status, perr := strconv.Atoi(rest[:3])
	if perr != nil {
		return 0
	}
	return status
}
