package server_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
	"github.com/switchboard-oss/switchboard/server"
)

// gzipBomb returns about 1 MiB of gzip that inflates to `inflated` bytes of zeros: one gzip
// member of 64 MiB, repeated (gzip readers read concatenated members as one stream).
func gzipBomb(t *testing.T, inflated int64) []byte {
	t.Helper()
	const member = 64 << 20
	var one bytes.Buffer
	z, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	if _, err := io.CopyN(z, zeros{}, member); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(one.Bytes(), int(inflated/member))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// heapPeak samples the process's live heap until stop is called, and returns the highest value.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// TestHostileClients: bodies too big to hold, inflated or not, with or without a key, are
// refused before the server holds them; the heap of this process (the server runs in it) stays
// under 64 MiB above where it started while 1 GiB bombs and 200 MiB bodies arrive. Not
// parallel, so that no other test's allocations count.
func TestHostileClients(t *testing.T) {
	s := startServer(t, t.TempDir())
	base := "http://" + s.Addr
	bomb := gzipBomb(t, 1<<30)
	h2c := &http.Client{Transport: &http.Transport{Protocols: func() *http.Protocols {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		return &p
	}()}}
	t.Cleanup(h2c.CloseIdleConnections)

	type attempt struct {
		name    string
		client  *http.Client
		body    func() io.Reader
		length  int64 // -1: chunked
		headers map[string]string
		key     bool
		// wantStatus is the HTTP status; wantText a piece of the body or grpc-status.
		wantStatus int
		wantCode   connect.Code
	}
	connectJSON := map[string]string{"Content-Type": "application/json"}
	connectGzip := map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}
	grpcGzip := map[string]string{"Content-Type": "application/grpc", "Grpc-Encoding": "gzip", "Te": "trailers"}
	// A gRPC frame: compressed flag, big-endian length, then the (gzip) message.
	grpcFrame := func(msg []byte) []byte {
		b := make([]byte, 5, 5+len(msg))
		b[0] = 1
		binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
		return append(b, msg...)
	}
	big := int64(200 << 20)
	attempts := []attempt{
		{"gzip bomb, no key", http.DefaultClient, func() io.Reader { return bytes.NewReader(bomb) }, int64(len(bomb)), connectGzip, false, 401, connect.CodeUnauthenticated},
		{"gzip bomb, with key", http.DefaultClient, func() io.Reader { return bytes.NewReader(bomb) }, int64(len(bomb)), connectGzip, true, 429, connect.CodeResourceExhausted},
		{"gzip bomb over gRPC, no key", h2c, func() io.Reader { return bytes.NewReader(grpcFrame(bomb)) }, int64(len(bomb) + 5), grpcGzip, false, 200, connect.CodeUnauthenticated},
		{"gzip bomb over gRPC, with key", h2c, func() io.Reader { return bytes.NewReader(grpcFrame(bomb)) }, int64(len(bomb) + 5), grpcGzip, true, 200, connect.CodeResourceExhausted},
		// An announced size over the limit is refused before the key is even looked up.
		{"200 MiB body, no key", http.DefaultClient, func() io.Reader { return io.LimitReader(zeros{}, big) }, big, connectJSON, false, 429, connect.CodeResourceExhausted},
		{"200 MiB body, with key", http.DefaultClient, func() io.Reader { return io.LimitReader(zeros{}, big) }, big, connectJSON, true, 429, connect.CodeResourceExhausted},
		{"200 MiB chunked body, no key", http.DefaultClient, func() io.Reader { return io.LimitReader(zeros{}, big) }, -1, connectJSON, false, 401, connect.CodeUnauthenticated},
		{"200 MiB chunked body, with key", http.DefaultClient, func() io.Reader { return io.LimitReader(zeros{}, big) }, -1, connectJSON, true, 429, connect.CodeResourceExhausted},
		{"200 MiB chunked body over HTTP/2, with key", h2c, func() io.Reader { return io.LimitReader(zeros{}, big) }, -1, connectJSON, true, 429, connect.CodeResourceExhausted},
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := heapPeak()
	for _, a := range attempts {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/switchboard.v1.ThreadService/ListThreads", a.body())
		req.ContentLength = a.length
		for k, v := range a.headers {
			req.Header.Set(k, v)
		}
		if a.key {
			req.Header.Set("Authorization", "Bearer "+adminKey)
		}
		start := time.Now()
		res, err := a.client.Do(req)
		if err != nil {
			cancel()
			t.Errorf("%s: %v", a.name, err)
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		cancel()
		took := time.Since(start)
		got := string(body) + " grpc-status=" + res.Trailer.Get("Grpc-Status") + res.Header.Get("Grpc-Status")
		wantText := strings.ReplaceAll(strings.ToLower(a.wantCode.String()), " ", "_")
		if a.headers["Content-Type"] == "application/grpc" {
			wantText = fmt.Sprintf("grpc-status=%d", a.wantCode)
		}
		if res.StatusCode != a.wantStatus || !strings.Contains(got, wantText) {
			t.Errorf("%s: got %d %q, want %d with %s", a.name, res.StatusCode, got, a.wantStatus, wantText)
		}
		// Generous: the point is that the server does not read 200 MiB or inflate 1 GiB.
		if took > 10*time.Second {
			t.Errorf("%s: answered after %s", a.name, took)
		}
		t.Logf("%s: %d in %s", a.name, res.StatusCode, took.Round(time.Millisecond))
	}
	peak := stop()
	const bound = 64 << 20
	t.Logf("heap: %d MiB before, peak %d MiB during the attempts", before.HeapAlloc>>20, peak>>20)
	if peak > before.HeapAlloc+bound {
		t.Errorf("heap peaked at %d MiB, over %d MiB above the %d MiB it started at", peak>>20, bound>>20, before.HeapAlloc>>20)
	}

	// The server still answers, and a normal call of legitimate size works.
	c := api{t, newConnectClient(s.Addr), adminKey}
	c.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL})
}

// TestSlowClientsAreCutOff: connections that trickle their headers or their body, or send
// nothing, are closed by the server's timeouts, while a stream that lasts longer than all of
// them keeps running.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	s := startServerWith(t, server.Config{DataDir: t.TempDir(), ReadHeaderTimeout: time.Second,
		IdleTimeout: 2 * time.Second, Limits: connectrpc.Limits{ReadTimeout: time.Second}})

	// A stream opened first must outlive every timeout below.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := switchboardv1connect.NewEventServiceClient(http.DefaultClient, "http://"+s.Addr)
	req := connect.NewRequest(&v1.StreamEventsRequest{})
	req.Header().Set("Authorization", "Bearer "+adminKey)
	stream, err := events.StreamEvents(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	received := make(chan string, 1000)
	go func() {
		for stream.Receive() {
			received <- stream.Msg().Type
		}
		close(received)
	}()

	const n = 30
	type slow struct {
		name  string
		start string // sent at once
		drip  string // then one byte every 200 ms
	}
	kinds := []slow{
		{"silent", "", ""},
		{"trickled headers", "POST /switchboard.v1.ThreadService/ListThreads HTTP/1.1\r\nHost: x\r\n", strings.Repeat("X-Slow: 1\r\n", 100)},
		{"trickled body", "POST /switchboard.v1.ThreadService/ListThreads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + adminKey +
			"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", strings.Repeat(" ", 1000)},
		{"idle keep-alive", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", ""},
	}
	var wg sync.WaitGroup
	closedAfter := make(chan time.Duration, n*len(kinds))
	stillOpen := make(chan string, n*len(kinds))
	for _, k := range kinds {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := net.Dial("tcp", s.Addr)
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				start := time.Now()
				_, _ = conn.Write([]byte(k.start))
				closed := make(chan struct{})
				go func() {
					// Reads until the server closes (a 408 or a response may come first).
					_, _ = io.Copy(io.Discard, bufio.NewReader(conn))
					close(closed)
				}()
				for i := 0; ; i++ {
					select {
					case <-closed:
						closedAfter <- time.Since(start)
						return
					case <-time.After(200 * time.Millisecond):
					}
					if time.Since(start) > 15*time.Second {
						stillOpen <- k.name
						return
					}
					if i < len(k.drip) {
						_, _ = conn.Write([]byte{k.drip[i]})
					}
				}
			}()
		}
	}
	wg.Wait()
	close(stillOpen)
	close(closedAfter)
	for name := range stillOpen {
		t.Errorf("a %s connection was still open after 15s", name)
	}
	var longest time.Duration
	for d := range closedAfter {
		longest = max(longest, d)
	}
	t.Logf("%d slow connections, the last closed after %s", n*len(kinds), longest.Round(time.Millisecond))

	// The stream, open for longer than every timeout, still delivers.
	a := api{t, newConnectClient(s.Addr), adminKey}
	a.link(v1.Platform_PLATFORM_API, "after-the-slow-ones")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case typ, ok := <-received:
			if !ok {
				t.Fatalf("the stream ended: %v", stream.Err())
			}
			if typ == "account.linked.v1" {
				return
			}
		case <-deadline:
			t.Fatal("the stream opened before the slow connections delivered nothing new")
		}
	}
}

// TestStreamsPerKeyAreCapped: a key holds at most --max-streams-per-key streams; one more is
// refused with ResourceExhausted, and a slot freed is usable again.
func TestStreamsPerKeyAreCapped(t *testing.T) {
	t.Parallel()
	s := startServerWith(t, server.Config{DataDir: t.TempDir(), Limits: connectrpc.Limits{MaxStreamsPerKey: 2}})
	events := switchboardv1connect.NewEventServiceClient(http.DefaultClient, "http://"+s.Addr)
	open := func() (*connect.ServerStreamForClient[v1.Event], context.CancelFunc, error) {
		ctx, cancel := context.WithCancel(context.Background())
		req := connect.NewRequest(&v1.StreamEventsRequest{})
		req.Header().Set("Authorization", "Bearer "+adminKey)
		st, err := events.StreamEvents(ctx, req)
		if err != nil {
			cancel()
			return nil, nil, err
		}
		// The first message (the team's bootstrap events) proves the stream is served.
		if !st.Receive() {
			cancel()
			return nil, nil, st.Err()
		}
		return st, cancel, nil
	}
	var cancels []context.CancelFunc
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	for i := range 2 {
		_, cancel, err := open()
		if err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
		cancels = append(cancels, cancel)
	}
	_, _, err := open()
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("third stream: %v, want resource_exhausted", err)
	}
	cancels[0]()
	var last error
	for range 50 { // the server sees the cancel asynchronously
		var cancel context.CancelFunc
		if _, cancel, last = open(); last == nil {
			cancels = append(cancels, cancel)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("after closing a stream, a new one: %v", last)
	}
}
