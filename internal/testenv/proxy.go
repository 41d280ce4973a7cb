package testenv

import (
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Proxy forwards TCP connections to a server and can play it unreachable: SetDown(true) drops
// every connection and refuses new ones, SetDown(false) lets them through again.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// PostgresProxy starts a proxy to the PostgreSQL of pgURL, closed when the test ends, and
// returns it with the URL that goes through it.
func PostgresProxy(t testing.TB, pgURL string) (*Proxy, string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(pgURL)
	if err != nil || u.Scheme == "" {
		t.Skipf("the PostgreSQL URL is not a URL; this test needs one")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &Proxy{ln: ln, target: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), conns: map[net.Conn]bool{}}
	px.wg.Add(1)
	go px.serve()
	t.Cleanup(px.close)
	u.Host = ln.Addr().String()
	return px, u.String()
}

func (px *Proxy) serve() {
	defer px.wg.Done()
	for {
		c, err := px.ln.Accept()
		if err != nil {
			return
		}
		px.mu.Lock()
		down := px.down
		px.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		px.wg.Add(1)
		go func() {
			defer px.wg.Done()
			px.pipe(c)
		}()
	}
}

func (px *Proxy) pipe(client net.Conn) {
	server, err := net.DialTimeout("tcp", px.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	px.mu.Lock()
	if px.down {
		px.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	px.conns[client], px.conns[server] = true, true
	px.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(server, client); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, server); done <- struct{}{} }()
	<-done
	client.Close()
	server.Close()
	<-done
	px.mu.Lock()
	delete(px.conns, client)
	delete(px.conns, server)
	px.mu.Unlock()
}

// SetDown makes the server unreachable (true) or reachable again (false).
func (px *Proxy) SetDown(down bool) {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.down = down
	if down {
		for c := range px.conns {
			c.Close()
		}
	}
}

func (px *Proxy) close() {
	px.ln.Close()
	px.SetDown(true)
	px.wg.Wait()
}
