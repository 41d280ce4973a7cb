package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	"github.com/switchboard-oss/switchboard/adapters/kafka"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

const adminKey = "sb_test_bootstrap_key_0123456789"

// backend is a way to run the server: embedded engines, or Kafka (kfake) + PostgreSQL.
type backend struct {
	name  string
	start func(t *testing.T, dir string) *server.Server
}

// backends are every configuration the component tests run on.
var backends = []backend{
	{"embedded", startServer},
	{"kafka+postgres", startScaleServer},
}

// startScaleServer runs a real Switchboard on an in-process Kafka cluster and a fresh
// PostgreSQL schema (skipped loudly when PostgreSQL is unreachable, failed under CI=true).
func startScaleServer(t *testing.T, dir string) *server.Server {
	t.Helper()
	pg := testenv.PostgresSchema(t)
	_, brokers := testenv.Kafka(t)
	return startServerWith(t, server.Config{DataDir: dir, PostgresURL: pg, Kafka: scaleKafka(brokers)})
}

func scaleKafka(brokers string) server.KafkaConfig {
	return server.KafkaConfig{Brokers: brokers, Topic: "switchboard.events", Partitions: 6,
		SessionTimeout: testenv.SessionTimeout, HeartbeatInterval: testenv.HeartbeatInterval,
		RebalanceTimeout: testenv.RebalanceTimeout,
		Tune: func(c *kafka.Config) {
			c.DialTimeout, c.RequestTimeout, c.AppendTimeout = time.Second, 5*time.Second, 5*time.Second
			c.RetryInitial, c.RetryMax = 5*time.Millisecond, 100*time.Millisecond
		}}
}

// startServer runs a real Switchboard on a random port with its data in dir.
func startServer(t *testing.T, dir string) *server.Server {
	t.Helper()
	return startServerWith(t, server.Config{DataDir: dir})
}

// startServerWith runs a real Switchboard with cfg's engines (and test defaults for the rest).
func startServerWith(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cfg.BootstrapKey == "" {
		cfg.BootstrapKey = adminKey
	}
	cfg.Listen, cfg.ShutdownTimeout = "127.0.0.1:0", 5*time.Second
	if cfg.Roles == nil {
		cfg.Roles = []string{"api", "ingest", "projector"}
	}
	cfg.CORSOrigins = []string{"*"}
	s, err := server.Start(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { stopServer(t, s) })
	return s
}

func stopServer(t *testing.T, s *server.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Shutdown(ctx)
}

// client calls the API through one protocol: Connect (HTTP/1.1 JSON and HTTP/2 binary alike)
// or gRPC through grpc-go, the ecosystem's own client.
type client interface {
	invoke(ctx context.Context, key, procedure string, req, res proto.Message) error
	name() string
}

// session is what a well-behaved client keeps for read-your-writes: the position tokens
// IngestMessage answered (it answers once durable, before the read model applies), sent with
// every later call as the consistency token. Other commands wait for the read model themselves,
// so their positions are left out: the tests keep checking that they do. Tokens are opaque, so
// the session cannot merge them itself: every answer to a call that sent tokens carries one
// token covering them (and the call's own position), which replaces those it covers. Tokens
// belong to a team: the session keeps them per team, and learns a key's team once (from its
// team.created event).
type session struct {
	mu     sync.Mutex
	tokens map[string][]heldToken // by team
	teams  map[string]string      // team by API key
	seq    int                    // of the last token held
}

// heldToken is a token and when the session got it, so that a call sends only the tokens of
// answers received before it began (a first call's team lookup must not delay it past them).
type heldToken struct {
	tok string
	seq int
}

func newSession() *session {
	return &session{tokens: map[string][]heldToken{}, teams: map[string]string{}}
}

// now is the sequence number of the last token held.
func (s *session) now() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// transport makes one unary call, sending tokens as the consistency token, and returns the
// answer's consistency token.
type transport interface {
	call(ctx context.Context, key, procedure string, req, res proto.Message, tokens []string) (string, error)
	name() string
}

// sessionClient is a transport with a session.
type sessionClient struct {
	transport
	session *session
}

func (c sessionClient) invoke(ctx context.Context, key, procedure string, req, res proto.Message) error {
	began := c.session.now()
	team := c.teamOf(ctx, key)
	sent := c.session.token(team, began)
	merged, err := c.call(ctx, key, procedure, req, res, sent)
	if err != nil {
		return err
	}
	c.session.observe(team, procedure, sent, merged, res)
	return nil
}

// teamOf returns key's team, or the key itself while the key cannot tell (no key, refused).
func (c sessionClient) teamOf(ctx context.Context, key string) string {
	c.session.mu.Lock()
	team, ok := c.session.teams[key]
	c.session.mu.Unlock()
	switch {
	case ok:
		return team
	case key == "":
		return "key:"
	}
	res := &v1.ListEventsResponse{}
	if _, err := c.call(ctx, key, "/switchboard.v1.EventService/ListEvents",
		&v1.ListEventsRequest{Types: []string{"team.created.v1"}, PageSize: 1}, res, nil); err != nil || len(res.Events) != 1 {
		return "key:" + key
	}
	c.session.mu.Lock()
	defer c.session.mu.Unlock()
	c.session.teams[key] = res.Events[0].Key
	return res.Events[0].Key
}

// token is what to send for team: the tokens held when the call began.
func (s *session) token(team string, began int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, h := range s.tokens[team] {
		if h.seq <= began {
			out = append(out, h.tok)
		}
	}
	return out
}

// observe records an answer to a call that sent the tokens sent: merged is the answer's
// Switchboard-Consistency-Token.
func (s *session) observe(team, procedure string, sent []string, merged string, res proto.Message) {
	own := ""
	if f := res.ProtoReflect().Descriptor().Fields().ByName("position"); f != nil && strings.HasPrefix(procedure, "/switchboard.v1.IngestService/") {
		own = res.ProtoReflect().Get(f).String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if merged != "" && len(sent) > 0 {
		// merged covers what was sent (and own, for an ingest that sent tokens).
		// It takes the place of the oldest it replaces: calls that began since still send it.
		s.seq++
		at := s.seq
		held := slices.DeleteFunc(s.tokens[team], func(h heldToken) bool {
			replaced := slices.Contains(sent, h.tok)
			if replaced {
				at = min(at, h.seq)
			}
			return replaced
		})
		s.tokens[team] = append(held, heldToken{merged, at})
		return
	}
	if own != "" {
		s.seq++
		s.tokens[team] = append(s.tokens[team], heldToken{own, s.seq})
	}
}

type connectTransport struct {
	base string
	http *http.Client
	opts []connect.ClientOption
}

func (c connectTransport) name() string { return "connect" }

func (c connectTransport) call(ctx context.Context, key, procedure string, req, res proto.Message, tokens []string) (string, error) {
	// A dynamic unary call: the procedure's request and response types come from the messages.
	cl := connect.NewClient[dynamicMsg, dynamicMsg](c.http, c.base+procedure, append(c.opts, connect.WithCodec(dynamicCodec{res}))...)
	r := connect.NewRequest(&dynamicMsg{m: req})
	if key != "" {
		r.Header().Set("Authorization", "Bearer "+key)
	}
	if len(tokens) > 0 {
		r.Header().Set(connectrpc.ConsistencyHeader, strings.Join(tokens, ","))
	}
	out, err := cl.CallUnary(ctx, r)
	if err != nil {
		return "", err
	}
	return out.Header().Get(connectrpc.ConsistencyHeader), nil
}

type grpcTransport struct{ conn *grpc.ClientConn }

func (c grpcTransport) name() string { return "grpc" }

func (c grpcTransport) call(ctx context.Context, key, procedure string, req, res proto.Message, tokens []string) (string, error) {
	if key != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}
	for _, tok := range tokens { // repeated headers: the other form the server merges
		ctx = metadata.AppendToOutgoingContext(ctx, strings.ToLower(connectrpc.ConsistencyHeader), tok)
	}
	var header metadata.MD
	if err := c.conn.Invoke(ctx, procedure, req, res, grpc.Header(&header)); err != nil {
		return "", err
	}
	if v := header.Get(strings.ToLower(connectrpc.ConsistencyHeader)); len(v) > 0 {
		return v[0], nil
	}
	return "", nil
}

func newConnectClient(addr string) client {
	return sessionClient{connectTransport{base: "http://" + addr, http: http.DefaultClient}, newSession()}
}

func newGRPCClient(t *testing.T, addr string) client {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return sessionClient{grpcTransport{conn}, newSession()}
}

// codeOf returns the Connect code of an error from either client (gRPC codes are the same
// numbers).
func codeOf(err error) connect.Code {
	if err == nil {
		return 0
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Code()
	}
	if s, ok := status.FromError(err); ok {
		return connect.Code(s.Code())
	}
	return connect.CodeUnknown
}

// messageOf returns the error text a client shows.
func messageOf(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	if s, ok := status.FromError(err); ok {
		return s.Message()
	}
	return err.Error()
}

// dynamicMsg lets one generic Connect client carry any request and response message.
type dynamicMsg struct{ m proto.Message }

// dynamicCodec encodes the request message and decodes into the caller's response message.
type dynamicCodec struct{ res proto.Message }

func (dynamicCodec) Name() string { return "proto" }

func (dynamicCodec) Marshal(v any) ([]byte, error) {
	return proto.Marshal(v.(*dynamicMsg).m)
}

func (c dynamicCodec) Unmarshal(b []byte, v any) error {
	v.(*dynamicMsg).m = c.res
	return proto.Unmarshal(b, c.res)
}
