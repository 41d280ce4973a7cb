package connectrpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// watchBatch is how many events a watch stream reads from the log at a time.
const watchBatch = 500

// watchPoll is how often the progress feed reads the stored checkpoint, for projectors of
// other processes; this process's projector wakes it at once.
const watchPoll = 100 * time.Millisecond

// watcher runs the watch streams of one server: each follows the team's events in the log as
// the read model applies them, and turns them into changes read from the read model.
type watcher struct {
	d       Deps
	l       Limits
	feed    *progressFeed
	metrics *rpcMetrics
}

func newWatcher(d Deps, l Limits, m *rpcMetrics) *watcher {
	w := &watcher{d: d, l: l, metrics: m}
	if d.Progress != nil {
		w.feed = newProgressFeed(d.Progress, watchPoll, d.Logger)
	}
	return w
}

// changesFunc turns applied records into changes; positions[i] is where the stream stands
// once records[i] is passed.
type changesFunc[M any] func(ctx context.Context, records []eventlog.Record, positions []string) ([]M, error)

// errStreamTooSlow drops a client that takes nothing while its queue is full.
func errStreamTooSlow(l Limits) error {
	return connect.NewError(connect.CodeResourceExhausted, fmt.Errorf(
		"the client took no change for %s while %d waited: reconnect with after_position set to the last position received", l.WatchStall, l.WatchQueue))
}

// start checks after_position and returns where the stream starts: after it, or (empty) at
// what the read model has applied now.
func (w *watcher) start(ctx context.Context, teamID, after string) (eventlog.Cursor, error) {
	if w.feed == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("this server does not serve live updates"))
	}
	if after == "" {
		c, err := w.d.Progress.Applied(ctx)
		if err != nil {
			return nil, domain.Unavailable("the read model", err)
		}
		return c, nil
	}
	c, err := w.d.Positions.Decode(teamID, "after_position", after)
	if err != nil {
		return nil, err
	}
	head, err := w.d.Log.Head(ctx)
	if err != nil {
		return nil, domain.Unavailable("the event log", err)
	}
	for p, off := range c {
		if h, ok := head[p]; !ok || off > h {
			return nil, domain.Invalid("after_position", "is ahead of the event log: pass a position the API returned")
		}
	}
	if r, ok := w.d.Log.(eventlog.Retention); ok {
		oldest, err := r.Oldest(ctx)
		if err != nil {
			return nil, domain.Unavailable("the event log", err)
		}
		for p, first := range oldest {
			seen, ok := c[p]
			if !ok {
				seen = -1
			}
			if seen < first-1 {
				return nil, connect.NewError(connect.CodeOutOfRange, errors.New(
					"after_position is older than the event log keeps: reload (ListThreads or ListMessages) and watch from the position it answers"))
			}
		}
	}
	return c, nil
}

// runWatch serves one watch stream: a heartbeat first, then the changes of every event of q
// after the cursor, as the read model applies them, and a heartbeat whenever the stream has
// been quiet for l.WatchHeartbeat. Changes go through a bounded queue to a sender goroutine;
// a client that takes nothing for l.WatchStall while the queue is full is dropped. It ends
// when the client goes, or with Unavailable when the server shuts down.
func runWatch[M any](ctx context.Context, w *watcher, q eventlog.Query, cursor eventlog.Cursor,
	changes changesFunc[M], heartbeat func(position string) M, send func(M) error) error {
	release := w.feed.subscribe()
	defer release()
	w.metrics.watching.Inc()
	defer w.metrics.watching.Dec()

	out := make(chan M, w.l.WatchQueue)
	stop, sent := make(chan struct{}), make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop: // first: a dropped stream sends nothing more
				sent <- nil
				return
			default:
			}
			select {
			case <-stop:
				sent <- nil
				return
			case m := <-out:
				if err := send(m); err != nil {
					sent <- err
					return
				}
			}
		}
	}()
	var sendErr error
	senderDone := false
	defer func() {
		close(stop)
		if !senderDone {
			<-sent // the stream must not be touched once the handler returns
		}
	}()

	idle := time.NewTimer(w.l.WatchHeartbeat)
	defer idle.Stop()
	enqueue := func(m M) error {
		select {
		case out <- m:
		default:
			stall := time.NewTimer(w.l.WatchStall)
			defer stall.Stop()
			select {
			case out <- m:
			case <-stall.C:
				w.metrics.watchDropped.Inc()
				return errStreamTooSlow(w.l)
			case <-ctx.Done():
				return ctx.Err()
			case sendErr = <-sent:
				senderDone = true
				return sendErr
			case <-w.d.Stopping:
				return errShuttingDown
			}
		}
		idle.Reset(w.l.WatchHeartbeat)
		return nil
	}
	finish := func(err error) error {
		switch {
		case ctx.Err() != nil, senderDone && errors.Is(err, sendErr):
			return nil // the client went
		}
		return toConnect(ctx, w.d.Logger, err)
	}

	if err := enqueue(heartbeat(w.d.Positions.Encode(q.TeamID, cursor))); err != nil {
		return finish(err)
	}
	q.After = cursor
	for {
		applied, wake := w.feed.state()
		select {
		case <-w.d.Stopping:
			return errShuttingDown
		default:
		}
		q.Limit = watchBatch
		recs, err := w.d.Log.Read(ctx, q)
		if err != nil {
			return finish(domain.Unavailable("the event log", err))
		}
		// Only what the read model has applied: the changes are read from it. A partition
		// whose next event is not applied yet waits there; the others go on.
		var batch []eventlog.Record
		var positions []string
		blocked := map[int32]bool{}
		for _, r := range recs {
			if blocked[r.Position.Partition] || applied.After(r.Position) {
				blocked[r.Position.Partition] = true
				continue
			}
			batch = append(batch, r)
			cursor.Advance(r.Position)
			positions = append(positions, w.d.Positions.Encode(q.TeamID, cursor))
		}
		if len(batch) > 0 {
			ms, err := changes(ctx, batch, positions)
			if err != nil {
				return finish(err)
			}
			for _, m := range ms {
				if err := enqueue(m); err != nil {
					return finish(err)
				}
			}
		}
		full := len(recs) == watchBatch
		if !full && len(blocked) == 0 {
			// Every event of ours up to what the read model applied is passed: the stream
			// stands there, so heartbeats carry a fresh position.
			for p, o := range applied {
				cursor.Advance(eventlog.Position{Partition: p, Offset: o})
			}
		}
		if full && len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.d.Stopping:
			return errShuttingDown
		case sendErr = <-sent:
			senderDone = true
			return nil
		case <-wake:
		case <-idle.C:
			if err := enqueue(heartbeat(w.d.Positions.Encode(q.TeamID, cursor))); err != nil {
				return finish(err)
			}
		}
	}
}
