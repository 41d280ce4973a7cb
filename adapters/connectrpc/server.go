package connectrpc

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"connectrpc.com/connect"
	connectcors "connectrpc.com/cors"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/cors"

	"github.com/switchboard-oss/switchboard/internal/health"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// Check is one engine that /readyz and gRPC health report on.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// Condition is a part that recovers by itself (a projector): State is nil while it works,
// else why it does not, in words safe to show.
type Condition struct {
	Name  string
	State func() error
}

// ServerOptions configure the HTTP surface.
type ServerOptions struct {
	// Checks are pinged by /readyz and gRPC health.
	Checks []Check
	// Degraded are reported by /readyz when not nil, without making the process unready.
	Degraded []Condition
	// CORSOrigins lists the browser origins allowed to call the API ("*" for any).
	CORSOrigins []string
	// Registry receives the RPC metrics and is served at /metrics.
	Registry *prometheus.Registry
	// Extra mounts more handlers on the same port (e.g. webhooks), by pattern.
	Extra map[string]http.Handler
	// NoAPI serves only health, readiness and metrics: a process without the api role.
	NoAPI bool
	// Interceptors wrap every API call, outside the built-in ones (tracing, shutdown).
	Interceptors []connect.Interceptor
	// Limits bound requests (zero values: the defaults).
	Limits Limits
	// UI mounts the web inbox (by pattern) beside the API; not mounted without the API.
	UI map[string]http.Handler
}

// NewHandler returns every service, health, reflection, /healthz, /readyz and /metrics on one
// http.Handler, ready for h2c.
func NewHandler(d Deps, o ServerOptions) http.Handler {
	metrics := newRPCMetrics(o.Registry)
	limits := o.Limits.withDefaults()
	bounded := []connect.HandlerOption{connect.WithReadMaxBytes(int(limits.MaxRequestBytes)), boundedGzip(limits.MaxRequestBytes)}
	for _, c := range jsonCodecs() {
		bounded = append(bounded, connect.WithCodec(c))
	}
	mux := http.NewServeMux()
	services := []string{}
	if !o.NoAPI {
		if d.Positions == nil {
			panic("connectrpc: Deps.Positions is required to serve the API (NewPositions)")
		}
		services = mountAPI(mux, d, metrics, limits, bounded, o.Interceptors)
	}
	mux.Handle(grpchealth.NewHandler(healthChecker{checks: o.Checks, services: services}, bounded...))
	if len(services) > 0 {
		reflector := grpcreflect.NewStaticReflector(services...)
		mux.Handle(grpcreflect.NewHandlerV1(reflector, bounded...))
		mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector, bounded...))
	}

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		status, engines, why := http.StatusOK, map[string]string{}, map[string]string{}
		for _, c := range o.Checks {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			if err := c.Ping(ctx); err != nil {
				status, engines[c.Name], why[c.Name] = http.StatusServiceUnavailable, "unreachable", health.Reason(err)
			} else {
				engines[c.Name] = "ok"
			}
			cancel()
		}
		out := map[string]any{"ready": status == http.StatusOK, "engines": engines}
		if len(why) > 0 {
			out["reasons"] = why
		}
		// A paused projector leaves the API serving (reads lag, search may be stale): it is
		// reported, and does not take the process out of its load balancer.
		degraded := map[string]string{}
		for _, c := range o.Degraded {
			if err := c.State(); err != nil {
				degraded[c.Name] = err.Error()
			}
		}
		if len(degraded) > 0 {
			out["degraded"] = degraded
		}
		writeJSON(w, status, out)
	})
	if o.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	}
	for pattern, h := range o.Extra {
		mux.Handle(pattern, h)
	}
	if !o.NoAPI {
		for pattern, h := range o.UI {
			mux.Handle(pattern, h)
		}
	}
	if len(o.CORSOrigins) == 0 {
		return limitBodies(mux, limits)
	}
	return limitBodies(cors.New(cors.Options{
		AllowedOrigins: o.CORSOrigins,
		AllowedMethods: connectcors.AllowedMethods(),
		AllowedHeaders: append(connectcors.AllowedHeaders(), "Authorization", ConsistencyHeader),
		ExposedHeaders: append(connectcors.ExposedHeaders(), ConsistencyHeader),
		MaxAge:         7200,
	}).Handler(mux), limits)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// healthChecker answers gRPC health: serving while every engine answers.
type healthChecker struct {
	checks   []Check
	services []string
}

func (h healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" {
		known := false
		for _, s := range h.services {
			known = known || s == req.Service
		}
		if !known {
			return nil, connect.NewError(connect.CodeNotFound, nil)
		}
	}
	for _, c := range h.checks {
		if err := c.Ping(ctx); err != nil {
			return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
		}
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// mountAPI mounts every service and returns their names.
func mountAPI(mux *http.ServeMux, d Deps, metrics *rpcMetrics, limits Limits, bounded []connect.HandlerOption, outer []connect.Interceptor) []string {
	auth := authInterceptor{keys: d.Reader, hasher: d.Keys, usage: &keyUsage{touch: d.Reader.TouchAPIKeys},
		streams: newStreamSlots(limits.MaxStreamsPerKey), cache: d.KeyCache}
	interceptors := append(slices.Clone(outer), metrics, auth, limitsInterceptor{d.Logger},
		consistencyInterceptor{readModel: d.ReadModel, search: d.SearchIndex, positions: d.Positions, logger: d.Logger})
	// Responses under 1 KiB go uncompressed: gzip's setup costs more than it saves there.
	opts := connect.WithHandlerOptions(append(bounded, connect.WithInterceptors(interceptors...), connect.WithCompressMinBytes(1024))...)
	errw := connect.NewErrorWriter(opts)
	handle := func(path string, h http.Handler) { mux.Handle(path, guardAPI(h, auth, limits, errw)) }
	handle(switchboardv1connect.NewAccountServiceHandler(NewAccountService(d), opts))
	handle(switchboardv1connect.NewThreadServiceHandler(newThreadService(d, limits, metrics), opts))
	handle(switchboardv1connect.NewProspectServiceHandler(NewProspectService(d), opts))
	handle(switchboardv1connect.NewTeamServiceHandler(NewTeamService(d), opts))
	handle(switchboardv1connect.NewIngestServiceHandler(NewIngestService(d), opts))
	handle(switchboardv1connect.NewSearchServiceHandler(NewSearchService(d), opts))
	handle(switchboardv1connect.NewEventServiceHandler(NewEventService(d), opts))
	handle(switchboardv1connect.NewAnalyticsServiceHandler(NewAnalyticsService(d), opts))
	handle(switchboardv1connect.NewAdminServiceHandler(NewAdminService(d), opts))
	handle(switchboardv1connect.NewWebhookServiceHandler(NewWebhookService(d), opts))

	services := []string{
		switchboardv1connect.AccountServiceName, switchboardv1connect.ThreadServiceName,
		switchboardv1connect.ProspectServiceName, switchboardv1connect.TeamServiceName,
		switchboardv1connect.IngestServiceName, switchboardv1connect.SearchServiceName,
		switchboardv1connect.EventServiceName, switchboardv1connect.AnalyticsServiceName,
		switchboardv1connect.AdminServiceName, switchboardv1connect.WebhookServiceName,
	}
	return services
}
