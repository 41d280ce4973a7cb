package scheduler

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	polls *prometheus.CounterVec
	items *prometheus.CounterVec
	links *prometheus.GaugeVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_polls_total",
			Help: "Polls of account links, by platform and outcome (ok, auth_refused, rate_limited, timeout, error, record_failed)."},
			[]string{"platform", "outcome"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_poll_events_total",
			Help: "Events derived from polled items, by platform and result (appended, duplicate)."},
			[]string{"platform", "result"}),
		links: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_polled_links",
			Help: "Account links being polled, by platform."}, []string{"platform"}),
	}
	if reg != nil {
		m.polls = register(reg, m.polls)
		m.items = register(reg, m.items)
		m.links = register(reg, m.links)
	}
	return m
}

// register adds c to reg, or returns the one a previous scheduler registered there.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
