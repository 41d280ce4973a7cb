package kafka

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// scramClient is the client side of SASL SCRAM (RFC 5802, no channel binding), which sarama
// leaves to the application. Names and passwords are used as given (no SASLprep): ASCII
// credentials, which is what Kafka deployments use, are unaffected.
type scramClient struct {
	hash func() hash.Hash

	user, password, authzID string
	step                    int
	nonce                   string
	clientFirstBare         string
	serverSignature         []byte
	done                    bool
}

// minSCRAMIterations refuses a server (or a man in the middle) that asks for a cheap hash.
const minSCRAMIterations = 4096

func (c *scramClient) Begin(user, password, authzID string) error {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	c.user, c.password, c.authzID = user, password, authzID
	c.nonce = base64.RawStdEncoding.EncodeToString(b)
	c.step, c.done = 0, false
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) {
	c.step++
	switch c.step {
	case 1:
		c.clientFirstBare = "n=" + scramName(c.user) + ",r=" + c.nonce
		return c.gs2Header() + c.clientFirstBare, nil
	case 2:
		return c.clientFinal(challenge)
	case 3:
		c.done = true
		attrs := scramAttrs(challenge)
		if e, ok := attrs["e"]; ok {
			return "", fmt.Errorf("scram: server refused: %s", e)
		}
		v, err := base64.StdEncoding.DecodeString(attrs["v"])
		if err != nil || subtle.ConstantTimeCompare(v, c.serverSignature) != 1 {
			return "", errors.New("scram: the server's signature does not match: not the expected server")
		}
		return "", nil
	default:
		return "", errors.New("scram: unexpected extra step")
	}
}

func (c *scramClient) Done() bool { return c.done }

func (c *scramClient) gs2Header() string {
	if c.authzID == "" {
		return "n,,"
	}
	return "n,a=" + scramName(c.authzID) + ","
}

func (c *scramClient) clientFinal(serverFirst string) (string, error) {
	attrs := scramAttrs(serverFirst)
	if e, ok := attrs["e"]; ok {
		return "", fmt.Errorf("scram: server refused: %s", e)
	}
	nonce := attrs["r"]
	if !strings.HasPrefix(nonce, c.nonce) || len(nonce) == len(c.nonce) {
		return "", errors.New("scram: the server's nonce does not extend ours")
	}
	salt, err := base64.StdEncoding.DecodeString(attrs["s"])
	if err != nil || len(salt) == 0 {
		return "", errors.New("scram: the server sent no valid salt")
	}
	iter, err := strconv.Atoi(attrs["i"])
	if err != nil || iter < minSCRAMIterations {
		return "", fmt.Errorf("scram: the server asked for %q iterations, want at least %d", attrs["i"], minSCRAMIterations)
	}
	salted, err := pbkdf2.Key(c.hash, c.password, salt, iter, c.hash().Size())
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	clientKey := scramHMAC(c.hash, salted, "Client Key")
	h := c.hash()
	h.Write(clientKey)
	storedKey := h.Sum(nil)
	finalNoProof := "c=" + base64.StdEncoding.EncodeToString([]byte(c.gs2Header())) + ",r=" + nonce
	authMessage := c.clientFirstBare + "," + serverFirst + "," + finalNoProof
	proof := scramHMAC(c.hash, storedKey, authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	c.serverSignature = scramHMAC(c.hash, scramHMAC(c.hash, salted, "Server Key"), authMessage)
	return finalNoProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

func scramHMAC(h func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// scramName escapes a name for a SCRAM attribute.
func scramName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// scramAttrs parses "k=v,k=v" (values may hold '=').
func scramAttrs(msg string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Split(msg, ",") {
		if k, v, ok := strings.Cut(f, "="); ok && len(k) == 1 {
			out[k] = v
		}
	}
	return out
}
