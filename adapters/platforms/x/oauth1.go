package x

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
)

// oauth1Header is the Authorization header of an OAuth 1.0a (HMAC-SHA1, RFC 5849) request
// whose parameters are all in the query. Only the header carries the signature; it is never
// logged or returned.
func oauth1Header(method, rawURL string, query url.Values, consumerKey, consumerSecret, token, tokenSecret, timestamp, nonce string) string {
	params := url.Values{
		"oauth_consumer_key":     {consumerKey},
		"oauth_nonce":            {nonce},
		"oauth_signature_method": {"HMAC-SHA1"},
		"oauth_timestamp":        {timestamp},
		"oauth_token":            {token},
		"oauth_version":          {"1.0"},
	}
	oauth := make([]string, 0, len(params)+1)
	for k := range params {
		oauth = append(oauth, k)
	}
	for k, vs := range query {
		params[k] = append(params[k], vs...)
	}
	params.Set("oauth_signature", oauth1Signature(method, rawURL, params, consumerSecret, tokenSecret))
	oauth = append(oauth, "oauth_signature")
	slices.Sort(oauth)
	parts := make([]string, len(oauth))
	for i, k := range oauth {
		parts[i] = percent(k) + `="` + percent(params.Get(k)) + `"`
	}
	return "OAuth " + strings.Join(parts, ", ")
}

// oauth1Signature signs the request: its method, base URL and every parameter but
// oauth_signature (RFC 5849 section 3.4).
func oauth1Signature(method, rawURL string, params url.Values, consumerSecret, tokenSecret string) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range params {
		if k == "oauth_signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, pair{percent(k), percent(v)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	norm := make([]string, len(pairs))
	for i, p := range pairs {
		norm[i] = p.k + "=" + p.v
	}
	base := strings.ToUpper(method) + "&" + percent(baseURI(rawURL)) + "&" + percent(strings.Join(norm, "&"))
	mac := hmac.New(sha1.New, []byte(percent(consumerSecret)+"&"+percent(tokenSecret)))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// baseURI is the URL without query or fragment, scheme and host lowercased, default port
// dropped (RFC 5849 section 3.4.1.2).
func baseURI(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if port := u.Port(); scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		host = strings.TrimSuffix(host, ":"+port)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// percent is RFC 3986 percent-encoding: everything but unreserved characters, uppercase hex.
func percent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteString(strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

// newNonce is a fresh oauth_nonce.
func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
