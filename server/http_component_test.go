package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection/grpc_reflection_v1"
)

// TestHTTPSurface: health, readiness, metrics, CORS for browsers, plain-curl JSON, gRPC health
// and reflection, all on the API's one port.
func TestHTTPSurface(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	base := "http://" + s.Addr
	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	code, body := get("/readyz")
	var ready struct {
		Ready   bool              `json:"ready"`
		Engines map[string]string `json:"engines"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != 200 || !ready.Ready ||
		ready.Engines["event_log"] != "ok" || ready.Engines["read_model"] != "ok" || ready.Engines["search_index"] != "ok" {
		t.Errorf("/readyz: %d %s", code, body)
	}

	// The curl path of the README: Connect JSON over HTTP/1.1.
	req, _ := http.NewRequest("POST", base+"/switchboard.v1.ThreadService/ListThreads", strings.NewReader(`{"view":"VIEW_ALL"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(string(b), "{") {
		t.Errorf("ListThreads over JSON: %d %s", res.StatusCode, b)
	}
	// Without a key: 401 with a Connect error body, not a crash or an empty 200.
	req, _ = http.NewRequest("POST", base+"/switchboard.v1.ThreadService/ListThreads", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 401 || !strings.Contains(string(b), "unauthenticated") {
		t.Errorf("no key: %d %s", res.StatusCode, b)
	}

	// A browser's preflight is answered for the Connect and gRPC-web headers.
	req, _ = http.NewRequest("OPTIONS", base+"/switchboard.v1.ThreadService/ListThreads", nil)
	req.Header.Set("Origin", "https://inbox.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,connect-protocol-version,content-type,x-grpc-web") // sorted, as browsers send them
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Access-Control-Allow-Origin"); got == "" || res.StatusCode >= 300 {
		t.Errorf("CORS preflight: %d, allow-origin %q", res.StatusCode, got)
	}

	code, body = get("/metrics")
	if code != 200 || !strings.Contains(body, `switchboard_rpc_handled_total{code="ok",procedure="/switchboard.v1.ThreadService/ListThreads"}`) ||
		!strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics: %d, missing the RPC counter or Go metrics", code)
	}

	// gRPC health and reflection through grpc-go.
	conn := newGRPCClient(t, s.Addr).(sessionClient).transport.(grpcTransport).conn
	h, err := grpc_health_v1.NewHealthClient(conn).Check(context.Background(), &grpc_health_v1.HealthCheckRequest{})
	if err != nil || h.Status != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Errorf("gRPC health: %v %v", h, err)
	}
	stream, err := grpc_reflection_v1.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&grpc_reflection_v1.ServerReflectionRequest{
		MessageRequest: &grpc_reflection_v1.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	r, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, svc := range r.GetListServicesResponse().GetService() {
		names[svc.Name] = true
	}
	for _, want := range []string{"switchboard.v1.ThreadService", "switchboard.v1.IngestService", "switchboard.v1.SearchService"} {
		if !names[want] {
			t.Errorf("reflection does not list %s: %v", want, names)
		}
	}
	_ = stream.CloseSend()
}
