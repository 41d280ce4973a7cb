package kafka

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// Config configures the Kafka event log. Zero values take the defaults noted.
type Config struct {
	Brokers  []string // host:port of some brokers (required)
	Topic    string   // the events topic (default "switchboard.events")
	ClientID string   // the client id brokers see (default "switchboard")
	// Partitions and ReplicationFactor apply when the topic is missing and created; an
	// existing topic is used as it is. Defaults 12 and 1.
	Partitions        int32
	ReplicationFactor int16
	SASL              SASLConfig
	TLS               TLSConfig
	// Index detects duplicate event ids (required): sqlite.OpenEventIndex for one host,
	// postgres.OpenEventIndex for several. The caller opens and closes it.
	Index  DedupIndex
	Logger *slog.Logger // default slog.Default(); never receives payloads or secrets

	// DialTimeout bounds connecting to a broker (default 10s).
	DialTimeout time.Duration
	// RequestTimeout bounds waiting for one broker answer (default 30s). It must exceed the
	// time a broker may hold a consumer group's join (the rebalance timeout of other members).
	RequestTimeout time.Duration
	// AppendTimeout bounds one Append, claims and publish included (default 15s): when Kafka
	// is unreachable the caller gets an error, never a hang.
	AppendTimeout time.Duration
	// ClaimLease is how long an append's claim on an event id, and on its stream's next
	// versions, lasts (default 10m). A stream whose appender died mid-append before its
	// record reached the topic takes no new event until then (its appends wait, then fail as
	// unavailable); one whose record is in the topic goes on after ClaimCheckAfter. It must
	// exceed the longest publish the producer can attempt, its retries included (see
	// publishBound): a publish that outlived its claim could write the event twice. A claim
	// left by a dead process is recovered once its lease ran out.
	ClaimLease time.Duration
	// ClaimCheckAfter is how old another append's live version claim must be before an
	// append waiting behind it looks for its events in the topic (default 5s): the events of
	// a process that died after publishing are then confirmed at once, and its stream goes on
	// without waiting for ClaimLease.
	ClaimCheckAfter time.Duration
	// SessionTimeout, HeartbeatInterval and RebalanceTimeout tune consumer groups (defaults
	// 10s, 3s, 60s). A broker refuses a session timeout outside its own bounds.
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	RebalanceTimeout  time.Duration
	// RetryInitial and RetryMax bound the exponential backoff between redeliveries to a
	// failing handler, and between attempts to reach Kafka (defaults 250ms and 30s).
	RetryInitial time.Duration
	RetryMax     time.Duration
	// BatchSize and BatchWait bound one handler call: at most BatchSize records, collected
	// for at most BatchWait after the first (defaults 500 and 5ms).
	BatchSize int
	BatchWait time.Duration
	// BackfillBatch is how many records one transaction of the start's stream index backfill
	// records (default 2000).
	BackfillBatch int
}

// SASLConfig authenticates to the brokers. An empty Mechanism disables SASL.
type SASLConfig struct {
	Mechanism string // "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512"
	User      string
	Password  string
}

// String never shows the password.
func (s SASLConfig) String() string {
	if s.Mechanism == "" {
		return "none"
	}
	return s.Mechanism + " as " + s.User
}

// LogValue never shows the password.
func (s SASLConfig) LogValue() slog.Value { return slog.StringValue(s.String()) }

// TLSConfig encrypts connections to the brokers.
type TLSConfig struct {
	Enable             bool
	CAFile             string // PEM roots to trust instead of the system's
	CertFile, KeyFile  string // a client certificate, for brokers that require one
	InsecureSkipVerify bool   // trust any broker certificate: tests only
}

// Names of the record headers Append writes beside the envelope, so readers can skip other
// teams' and types' records without decoding them. The event id goes in watermill's message
// UUID header, so watermill tools see it as the message id.
const (
	headerTeam = "switchboard_team_id"
	headerType = "switchboard_event_type"
	// headerVersion is the event's version in its stream (decimal), so readers need no index.
	headerVersion = "switchboard_stream_version"
)

// kafkaVersion is the protocol version spoken: Kafka 2.8 and later, KRaft clusters included.
var kafkaVersion = sarama.V2_8_0_0

// withDefaults returns cfg with every zero value replaced by its default.
func (cfg Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if cfg.Topic == "" {
		cfg.Topic = "switchboard.events"
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "switchboard"
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 12
	}
	if cfg.ReplicationFactor <= 0 {
		cfg.ReplicationFactor = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	def(&cfg.DialTimeout, 10*time.Second)
	def(&cfg.RequestTimeout, 30*time.Second)
	def(&cfg.AppendTimeout, 15*time.Second)
	def(&cfg.ClaimLease, 10*time.Minute)
	def(&cfg.ClaimCheckAfter, 5*time.Second)
	def(&cfg.SessionTimeout, 10*time.Second)
	def(&cfg.HeartbeatInterval, 3*time.Second)
	def(&cfg.RebalanceTimeout, 60*time.Second)
	def(&cfg.RetryInitial, 250*time.Millisecond)
	def(&cfg.RetryMax, 30*time.Second)
	def(&cfg.BatchWait, 5*time.Millisecond)
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.BackfillBatch <= 0 {
		cfg.BackfillBatch = 2000
	}
	return cfg
}

func (cfg Config) validate() error {
	if len(cfg.Brokers) == 0 {
		return errors.New("kafka: no brokers")
	}
	for _, b := range cfg.Brokers {
		if strings.TrimSpace(b) == "" {
			return errors.New("kafka: empty broker address")
		}
	}
	if cfg.Index == nil {
		return errors.New("kafka: no dedup index (Config.Index)")
	}
	if cfg.RetryMax < cfg.RetryInitial {
		return errors.New("kafka: RetryMax below RetryInitial")
	}
	if b := cfg.publishBound(); cfg.ClaimLease <= b {
		return fmt.Errorf("kafka: ClaimLease %v must exceed the longest publish, %v with these timeouts", cfg.ClaimLease, b)
	}
	return nil
}

// Producer retries: sarama's default count, with room for a leader election.
const (
	producerRetries      = 3
	producerRetryBackoff = 250 * time.Millisecond
)

// publishBound is the longest one publish can take: every attempt may wait for a connection,
// for the broker's answer and for a metadata refresh (bounded by Metadata.Timeout), then back
// off.
func (cfg Config) publishBound() time.Duration {
	perAttempt := cfg.DialTimeout + 2*cfg.RequestTimeout + producerRetryBackoff
	return time.Duration(producerRetries+1) * perAttempt
}

// ParseBrokers splits a comma-separated broker list (the --kafka-brokers flag).
func ParseBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// baseConfig is what every client of the log shares: identity, timeouts, security.
func (cfg Config) baseConfig() (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.ClientID = cfg.ClientID
	c.Version = kafkaVersion
	c.Net.DialTimeout = cfg.DialTimeout
	c.Net.ReadTimeout = cfg.RequestTimeout
	c.Net.WriteTimeout = cfg.RequestTimeout
	c.Metadata.Retry.Max = 3
	c.Metadata.Retry.Backoff = 250 * time.Millisecond
	// Bounds a refresh against an unreachable cluster, which would otherwise try every
	// broker, every retry, each up to the dial and read timeouts.
	c.Metadata.Timeout = cfg.RequestTimeout
	// Topics are created on purpose, with the log's settings, never by a metadata request.
	c.Metadata.AllowAutoTopicCreation = false
	if cfg.TLS.Enable {
		tc, err := cfg.TLS.build()
		if err != nil {
			return nil, err
		}
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = tc
	}
	if cfg.SASL.Mechanism != "" {
		c.Net.SASL.Enable = true
		c.Net.SASL.Handshake = true
		c.Net.SASL.Version = sarama.SASLHandshakeV1
		c.Net.SASL.User = cfg.SASL.User
		c.Net.SASL.Password = cfg.SASL.Password
		switch strings.ToUpper(cfg.SASL.Mechanism) {
		case "PLAIN":
			c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		case "SCRAM-SHA-256":
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: sha256.New} }
		case "SCRAM-SHA-512":
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: sha512.New} }
		default:
			return nil, fmt.Errorf("kafka: SASL mechanism %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", cfg.SASL.Mechanism)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return c, nil
}

// producerConfig is an idempotent producer waiting for every in-sync replica: a retried
// request is never written twice and one partition's records keep their order.
func (cfg Config) producerConfig() (*sarama.Config, error) {
	c, err := cfg.baseConfig()
	if err != nil {
		return nil, err
	}
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1
	c.Producer.Retry.Max = producerRetries
	c.Producer.Retry.Backoff = producerRetryBackoff
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Partitioner = sarama.NewHashPartitioner
	c.Producer.Compression = sarama.CompressionLZ4
	// How long a broker waits for the in-sync replicas: less than we wait for its answer.
	c.Producer.Timeout = min(10*time.Second, cfg.RequestTimeout*2/3)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return c, nil
}

// consumerConfig is one consumer group member: new groups start at the oldest offset, and
// offsets are committed only by the log, after its handler accepted the records.
func (cfg Config) consumerConfig() (*sarama.Config, error) {
	c, err := cfg.baseConfig()
	if err != nil {
		return nil, err
	}
	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.AutoCommit.Enable = false
	c.Consumer.Group.Session.Timeout = cfg.SessionTimeout
	c.Consumer.Group.Heartbeat.Interval = cfg.HeartbeatInterval
	c.Consumer.Group.Rebalance.Timeout = cfg.RebalanceTimeout
	c.Consumer.Group.Rebalance.Retry.Backoff = min(2*time.Second, cfg.RetryMax)
	c.Consumer.Retry.Backoff = min(2*time.Second, cfg.RetryMax)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return c, nil
}

func (t TLSConfig) build() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, for tests
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("kafka: TLS CA file holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("kafka: TLS needs both a certificate and a key file, or neither")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: TLS client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
