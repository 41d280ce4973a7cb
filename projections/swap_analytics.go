package projections

import (
	"context"
	"errors"
)

// errNoAnalytics: the current store keeps no conversation metrics.
var errNoAnalytics = errors.New("read model: this store keeps no conversation metrics")

// The analytics tables live in the read model's store, so a swapped-in read model carries its
// own (empty until the analytics projector, restarted after the swap, fills them again).

func (w *Swappable) analytics() (AnalyticsStore, *swapGen, error) {
	g := w.acquire()
	a, ok := g.Store.(AnalyticsStore)
	if !ok {
		g.release()
		return nil, nil, errNoAnalytics
	}
	return a, g, nil
}

func (w *Swappable) UpdateAnalytics(ctx context.Context, fn func(tx AnalyticsTx) error) error {
	a, g, err := w.analytics()
	if err != nil {
		return err
	}
	defer g.release()
	return a.UpdateAnalytics(ctx, fn)
}

func (w *Swappable) AnalyticsDefinitions(ctx context.Context) ([]string, error) {
	a, g, err := w.analytics()
	if err != nil {
		return nil, err
	}
	defer g.release()
	return a.AnalyticsDefinitions(ctx)
}

func (w *Swappable) ResetAnalytics(ctx context.Context) error {
	a, g, err := w.analytics()
	if err != nil {
		return err
	}
	defer g.release()
	return a.ResetAnalytics(ctx)
}

func (w *Swappable) ConversationTurns(ctx context.Context, q TurnQuery) ([]ConversationTurn, error) {
	a, g, err := w.analytics()
	if err != nil {
		return nil, err
	}
	defer g.release()
	return a.ConversationTurns(ctx, q)
}

func (w *Swappable) ResponseTimes(ctx context.Context, q ResponseTimesQuery) ([]ResponseTimeGroup, error) {
	a, g, err := w.analytics()
	if err != nil {
		return nil, err
	}
	defer g.release()
	return a.ResponseTimes(ctx, q)
}
