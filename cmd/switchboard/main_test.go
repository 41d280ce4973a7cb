package main

import (
	"bytes"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// Every flag --x-y has its env twin SWITCHBOARD_X_Y; the flag wins over the env.
func TestConfigFromFlagsAndEnv(t *testing.T) {
	var out bytes.Buffer
	cfg, _, err := parseConfig("serve", []string{"--listen", "127.0.0.1:9999", "--kafka-partitions", "3"}, env(map[string]string{
		"SWITCHBOARD_LISTEN":                      "127.0.0.1:1111",
		"SWITCHBOARD_DATA_DIR":                    "/tmp/sb-env",
		"SWITCHBOARD_ROLES":                       "api, projector",
		"SWITCHBOARD_KAFKA_BROKERS":               "k1:9092,k2:9092",
		"SWITCHBOARD_KAFKA_TLS":                   "true",
		"SWITCHBOARD_ELASTICSEARCH_URL":           "http://es:9200",
		"SWITCHBOARD_BOOTSTRAP_KEY":               "sb_from_env_0123456789",
		"SWITCHBOARD_SEARCH_RELEVANCE_CANDIDATES": "500",
	}), &out)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9999" || cfg.DataDir != "/tmp/sb-env" || strings.Join(cfg.Roles, "|") != "api|projector" ||
		cfg.Kafka.Brokers != "k1:9092,k2:9092" || !cfg.Kafka.TLS || cfg.Kafka.Partitions != 3 ||
		cfg.Elasticsearch.URL != "http://es:9200" || cfg.BootstrapKey != "sb_from_env_0123456789" || cfg.SearchCandidates != 500 {
		t.Fatalf("config: %+v", cfg)
	}
}

func TestBadSettingsAreNamed(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--log-level", "loud"}, nil, "--log-level"},
		{[]string{"--log-format", "xml"}, nil, "--log-format"},
		{[]string{"--shutdown-timeout", "soon"}, nil, "--shutdown-timeout"},
		{[]string{"--roles", "api,cook", "--data-dir", "x"}, nil, "--roles"},
		{[]string{"--roles", "api", "--data-dir", "x"}, nil, "--postgres-url"},
		{[]string{"--kafka-partitions", "many"}, nil, "kafka-partitions"},
		{[]string{"--search-relevance-candidates", "0"}, nil, "--search-relevance-candidates"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(append([]string{"serve"}, c.args...), env(c.env), &out, &out)
		if err == nil || !strings.Contains(err.Error()+out.String(), c.want) {
			t.Errorf("%v: error %v, want one naming %s", c.args, err, c.want)
		}
	}
	var out bytes.Buffer
	if err := run([]string{"search", "reindex", "--data-dir", t.TempDir()}, env(nil), &out, &out); err == nil || !strings.Contains(err.Error(), "--elasticsearch-url") {
		t.Errorf("search reindex without Elasticsearch: %v", err)
	}
	if err := run([]string{"frobnicate"}, env(nil), &out, &out); err == nil {
		t.Error("an unknown command was accepted")
	}
}
