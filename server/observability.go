package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-oss/switchboard/internal/telemetry"
)

// traceWebhooks gives each webhook request a server span: the events it appends (and the
// projectors that apply them) join its trace.
func traceWebhooks(tp trace.TracerProvider, next http.Handler) http.Handler {
	tracer := tp.Tracer("github.com/switchboard-oss/switchboard/server")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		platform, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/webhooks/"), "/")
		ctx, span := tracer.Start(r.Context(), r.Method+" /webhooks/"+platform, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("switchboard.platform", platform)))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// lagInReadyz adds each projector's lag to the /readyz answer, under "projector_lag". The lag
// is reported, not judged: a projector catching up leaves the process ready.
func lagInReadyz(next http.Handler, lag *telemetry.Lag) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		var body map[string]any
		if json.Unmarshal(rec.body.Bytes(), &body) != nil {
			copyResponse(w, rec, rec.body.Bytes())
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		body["projector_lag"] = lag.Measure(ctx)
		b, err := json.Marshal(body)
		if err != nil {
			b = rec.body.Bytes()
		}
		copyResponse(w, rec, b)
	})
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(code int)        { r.status = code }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

func copyResponse(w http.ResponseWriter, rec *recorder, body []byte) {
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.status)
	_, _ = w.Write(body)
}
