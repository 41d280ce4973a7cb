package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

// selfSignedTLS returns a server config for 127.0.0.1 and the PEM file of its certificate.
func selfSignedTLS(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kfake test broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	}, caFile
}

// Every SASL mechanism, over TLS, against a broker that requires them: the log appends, reads
// and consumes; a wrong password is refused without being echoed anywhere.
func TestEventLogOverTLSWithSASL(t *testing.T) {
	serverTLS, caFile := selfSignedTLS(t)
	const password = "s3cret-Pa55=word,with-specials"
	cluster := newCluster(t,
		kfake.NumBrokers(1),
		kfake.TLS(serverTLS),
		kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plain-user", password),
		kfake.Superuser("SCRAM-SHA-256", "scram256-user", password),
		kfake.Superuser("SCRAM-SHA-512", "scram512-user", password),
	)
	for mech, user := range map[string]string{"PLAIN": "plain-user", "SCRAM-SHA-256": "scram256-user", "SCRAM-SHA-512": "scram512-user"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, cluster.ListenAddrs(), "events-secure-"+domain.NewID(""), openTestIndex(t))
			cfg.Partitions = 2
			cfg.TLS = TLSConfig{Enable: true, CAFile: caFile}
			cfg.SASL = SASLConfig{Mechanism: mech, User: user, Password: password}
			l := openTestLog(t, cfg)
			team := eventlogtest.NewTeamID()
			e := eventlogtest.NewEvent(team, team, domain.ThreadRead{ThreadID: "thr_1", ProspectID: team})
			ctx := context.Background()
			if _, err := l.Append(ctx, []domain.Event{e}); err != nil {
				t.Fatal(err)
			}
			if recs, err := l.Read(ctx, eventlog.Query{TeamID: team, Limit: 10}); err != nil || len(recs) != 1 {
				t.Fatalf("Read = %d records, %v", len(recs), err)
			}
			var got seen
			cctx, stop := context.WithCancel(ctx)
			defer stop()
			go func() { _ = l.Consume(cctx, "secure", got.handle(team)) }()
			waitUntil(t, "the event consumed", 10*time.Second, func() bool { return got.has(e.ID) })

			bad := cfg
			bad.SASL.Password = "wrong-" + password
			start := time.Now()
			badLog, err := OpenEventLog(ctx, bad)
			if err == nil {
				badLog.Close()
				t.Fatal("a wrong password was accepted")
			}
			if time.Since(start) > promptly {
				t.Fatalf("a wrong password took %v to be refused", time.Since(start))
			}
			if strings.Contains(err.Error(), password) {
				t.Fatalf("the error shows the password: %v", err)
			}
			if s := cfg.SASL.String(); strings.Contains(s, password) {
				t.Fatalf("SASLConfig.String shows the password: %s", s)
			}
		})
	}
}

// Without the CA, the broker's certificate is refused.
func TestEventLogRefusesUnknownCertificate(t *testing.T) {
	serverTLS, _ := selfSignedTLS(t)
	cluster := newCluster(t, kfake.NumBrokers(1), kfake.TLS(serverTLS))
	cfg := testConfig(t, cluster.ListenAddrs(), "events-untrusted", openTestIndex(t))
	cfg.TLS = TLSConfig{Enable: true}
	if l, err := OpenEventLog(context.Background(), cfg); err == nil {
		l.Close()
		t.Fatal("opened a log on a broker with an untrusted certificate")
	}
}
