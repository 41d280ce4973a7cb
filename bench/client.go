package main

import (
	"context"
	"net/http"
	"sync/atomic"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// adminKey is the bootstrap key of the benchmark's own server.
const adminKey = "sb_bench_bootstrap_key_0123456789"

// h2c is an HTTP/2 client without TLS, as gRPC and Connect clients use against a local server.
func h2c() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p, MaxIdleConnsPerHost: 16}}
}

// api is one caller's set of clients: one team's key over one HTTP/2 connection pool.
type api struct {
	accounts switchboardv1connect.AccountServiceClient
	ingest   switchboardv1connect.IngestServiceClient
	threads  switchboardv1connect.ThreadServiceClient
	people   switchboardv1connect.ProspectServiceClient
	team     switchboardv1connect.TeamServiceClient
	search   switchboardv1connect.SearchServiceClient
}

func newAPI(hc *http.Client, base, key string) *api {
	opts := connect.WithInterceptors(bearer(key))
	return &api{
		accounts: switchboardv1connect.NewAccountServiceClient(hc, base, opts),
		ingest:   switchboardv1connect.NewIngestServiceClient(hc, base, opts),
		threads:  switchboardv1connect.NewThreadServiceClient(hc, base, opts),
		people:   switchboardv1connect.NewProspectServiceClient(hc, base, opts),
		team:     switchboardv1connect.NewTeamServiceClient(hc, base, opts),
		search:   switchboardv1connect.NewSearchServiceClient(hc, base, opts),
	}
}

func bearer(key string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+key)
			return next(ctx, req)
		}
	}
}

// pool spreads concurrent callers over several connections, as several client processes would.
type pool struct {
	clients []*http.Client
	next    atomic.Uint64
}

func newPool(n int) *pool {
	p := &pool{}
	for range n {
		p.clients = append(p.clients, h2c())
	}
	return p
}

func (p *pool) get() *http.Client {
	return p.clients[int(p.next.Add(1))%len(p.clients)]
}

func (p *pool) close() {
	for _, c := range p.clients {
		c.CloseIdleConnections()
	}
}
