package connectrpc

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
)

// rpcMetrics counts and times every RPC by procedure and code.
type rpcMetrics struct {
	handled  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// watching counts the open watch streams; watchDropped those dropped for a slow client.
	watching     prometheus.Gauge
	watchDropped prometheus.Counter
}

func newRPCMetrics(reg *prometheus.Registry) *rpcMetrics {
	m := &rpcMetrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_rpc_handled_total", Help: "RPCs completed, by procedure and code.",
		}, []string{"procedure", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_rpc_duration_seconds", Help: "RPC latency, by procedure.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"procedure"}),
		watching: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_watch_streams", Help: "Open WatchThreads and WatchMessages streams.",
		}),
		watchDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_watch_streams_dropped_total", Help: "Watch streams dropped because their client took nothing while their queue was full.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.handled, m.duration, m.watching, m.watchDropped)
	}
	return m
}

func codeOf(err error) string {
	if err == nil {
		return "ok"
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Code().String()
	}
	return connect.CodeUnknown.String()
}

func (m *rpcMetrics) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		res, err := next(ctx, req)
		p := req.Spec().Procedure
		m.duration.WithLabelValues(p).Observe(time.Since(start).Seconds())
		m.handled.WithLabelValues(p, codeOf(err)).Inc()
		return res, err
	}
}

func (m *rpcMetrics) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (m *rpcMetrics) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		err := next(ctx, conn)
		m.handled.WithLabelValues(conn.Spec().Procedure, codeOf(err)).Inc()
		return err
	}
}
