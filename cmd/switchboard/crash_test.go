package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

const testKey = "sb_crash_test_bootstrap_key_000000"

// buildBinary builds switchboard once per test run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "switchboard-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "switchboard")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

type process struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	logs []string
}

func (p *process) logged(substr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.logs {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

var listenRE = regexp.MustCompile(`msg="switchboard listening" addr=(\S+)`)

// startProcess runs the real binary on a random port and waits until it listens.
func startProcess(t *testing.T, dataDir string, args ...string) *process {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_BOOTSTRAP_KEY="+testKey)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	p := &process{cmd: cmd}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.logs = append(p.logs, sc.Text())
			p.mu.Unlock()
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
			if testing.Verbose() {
				fmt.Fprintln(os.Stderr, "  switchboard:", sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-addr:
		p.addr = a
		return p
	case <-time.After(60 * time.Second):
		t.Fatal("switchboard did not start listening")
		return nil
	}
}

func authed[T any](m *T) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set("Authorization", "Bearer "+testKey)
	return r
}

// TestCrashKeepsAcknowledgedMessages kills the server (SIGKILL) while clients ingest; after a
// restart every acknowledged message is there exactly once.
func TestCrashKeepsAcknowledgedMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	dir := t.TempDir()
	p := startProcess(t, dir)
	base := "http://" + p.addr
	accounts := switchboardv1connect.NewAccountServiceClient(http.DefaultClient, base)
	ctx := context.Background()
	link, err := accounts.LinkAccount(ctx, authed(&v1.LinkAccountRequest{Platform: v1.Platform_PLATFORM_API, PlatformId: "crash-shop"}))
	if err != nil {
		t.Fatal(err)
	}
	accID := link.Msg.AccountLink.Id

	const writers = 6
	var mu sync.Mutex
	acked := map[string]string{} // platform message id → msg id
	threadOf := map[string]string{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ingest := switchboardv1connect.NewIngestServiceClient(&http.Client{Timeout: 5 * time.Second}, base)
			for i := 0; i < 5000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				pmid := fmt.Sprintf("w%d-m%04d", w, i)
				res, err := ingest.IngestMessage(ctx, authed(&v1.IngestMessageRequest{AccountLinkId: accID, PlatformMessageId: pmid,
					Direction: v1.Direction_DIRECTION_INBOUND, Participant: &v1.Participant{PlatformId: fmt.Sprintf("writer-%d", w)},
					Text: "message " + pmid}))
				if err != nil {
					return // the server died under us: this one was not acknowledged
				}
				mu.Lock()
				acked[pmid] = res.Msg.MessageId
				threadOf[pmid] = res.Msg.ThreadId
				mu.Unlock()
			}
		}(w)
	}
	// Let acknowledged writes pile up, then kill without warning.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d messages acknowledged before the kill", len(acked))
	}

	p2 := startProcess(t, dir)
	base = "http://" + p2.addr
	threads := switchboardv1connect.NewThreadServiceClient(http.DefaultClient, base)
	seen := map[string]int{}
	for _, th := range uniq(threadOf) {
		req := &v1.ListMessagesRequest{ThreadId: th, PageSize: 100}
		for {
			res, err := threads.ListMessages(ctx, authed(req))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range res.Msg.Messages {
				seen[m.Id]++
			}
			if res.Msg.NextPageToken == "" {
				break
			}
			req = &v1.ListMessagesRequest{ThreadId: th, PageSize: 100, PageToken: res.Msg.NextPageToken}
		}
	}
	for pmid, id := range acked {
		if seen[id] != 1 {
			t.Errorf("acknowledged message %s (%s) is there %d times after the crash", pmid, id, seen[id])
		}
	}
	// Ingesting them again proves the log has each one: every repeat is a duplicate.
	ingest := switchboardv1connect.NewIngestServiceClient(http.DefaultClient, base)
	for pmid, id := range acked {
		w := pmid[1:2]
		res, err := ingest.IngestMessage(ctx, authed(&v1.IngestMessageRequest{AccountLinkId: accID, PlatformMessageId: pmid,
			Direction: v1.Direction_DIRECTION_INBOUND, Participant: &v1.Participant{PlatformId: "writer-" + w}, Text: "message " + pmid}))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Msg.Duplicate || res.Msg.MessageId != id {
			t.Errorf("re-ingest of acknowledged %s: duplicate=%v id=%s, want duplicate of %s", pmid, res.Msg.Duplicate, res.Msg.MessageId, id)
		}
	}
	t.Logf("%d messages acknowledged before SIGKILL; all present exactly once after restart", len(acked))
}

func uniq(m map[string]string) []string {
	set := map[string]bool{}
	var out []string
	for _, v := range m {
		if !set[v] {
			set[v] = true
			out = append(out, v)
		}
	}
	return out
}

// TestSIGTERMShutsDownGracefully: SIGTERM lets the server finish, flush and exit 0; what it
// acknowledged is there on the next start.
func TestSIGTERMShutsDownGracefully(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals a real process")
	}
	dir := t.TempDir()
	p := startProcess(t, dir)
	base := "http://" + p.addr
	ctx := context.Background()
	link, err := switchboardv1connect.NewAccountServiceClient(http.DefaultClient, base).LinkAccount(ctx,
		authed(&v1.LinkAccountRequest{Platform: v1.Platform_PLATFORM_API, PlatformId: "term-shop"}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := switchboardv1connect.NewIngestServiceClient(http.DefaultClient, base).IngestMessage(ctx, authed(&v1.IngestMessageRequest{
		AccountLinkId: link.Msg.AccountLink.Id, PlatformMessageId: "t1", Direction: v1.Direction_DIRECTION_INBOUND,
		Participant: &v1.Participant{PlatformId: "cust"}, Text: "before the signal"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
	}
	if !p.logged(`msg=stopped`) {
		t.Error("the server did not log that it stopped")
	}
	p2 := startProcess(t, dir)
	th, err := switchboardv1connect.NewThreadServiceClient(http.DefaultClient, "http://"+p2.addr).GetThread(ctx,
		authed(&v1.GetThreadRequest{ThreadId: res.Msg.ThreadId}))
	if err != nil {
		t.Fatal(err)
	}
	if th.Msg.Thread.LastMessageText != "before the signal" {
		t.Fatalf("after restart: %+v", th.Msg.Thread)
	}
}
