package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-oss/switchboard/search"
)

// reindexer is a search index that can rebuild itself into a new index and switch to it
// atomically (Elasticsearch, behind its alias).
type reindexer interface {
	Reindex(ctx context.Context, fill func(ctx context.Context, target search.Index) error) error
}

// ReindexSearch rebuilds the search index from the whole log into a new index and switches
// searches to it at once; the old index answers until then. Running servers notice the switch
// and continue from the new index's checkpoint.
func ReindexSearch(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if cfg.Elasticsearch.URL == "" {
		return errors.New("search reindex: needs --elasticsearch-url. The embedded search index belongs to one " +
			"process: stop the server, delete <data-dir>/search.db* and start it again to rebuild it from the log")
	}
	e, err := openEngines(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer e.close(logger)
	r, ok := e.idx.(reindexer)
	if !ok {
		return errors.New("search reindex: this search engine cannot rebuild into a new index")
	}
	start := time.Now()
	err = r.Reindex(ctx, func(ctx context.Context, target search.Index) error {
		// A group of its own, so the live projector's position is untouched.
		p := search.NewProjector(e.log, target, logger).WithGroup(fmt.Sprintf("search.reindex.%d", start.UnixNano()))
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Run(rctx) }()
		err := waitCaughtUp(ctx, e.log, "new search index", logger, p.WaitFor)
		cancel()
		<-done
		return err
	})
	if err != nil {
		return fmt.Errorf("search reindex: %w", err)
	}
	logger.Info("search index rebuilt and switched", "took", time.Since(start).Round(time.Millisecond))
	return nil
}
