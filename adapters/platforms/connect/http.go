package connect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client is the HTTP client of the flows (30 s per call).
var Client = &http.Client{Timeout: 30 * time.Second}

// Do sends req and decodes a 2xx JSON answer into out. Any other answer is an *HTTPError
// naming what (the endpoint, without host or query) and the platform's error code; a transport
// failure names what only, never the URL (Telegram puts the token in it).
func Do(c *http.Client, req *http.Request, what string, out any) error {
	if c == nil {
		c = Client
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s: %w", what, context.DeadlineExceeded)
		}
		return fmt.Errorf("%s: the platform could not be reached", what)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: the answer was cut off", what)
	}
	if res.StatusCode/100 != 2 {
		return &HTTPError{What: what, Status: res.StatusCode, Code: errorCode(body)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: the answer is not the expected JSON", what)
	}
	return nil
}

// errorCode finds the error code in the error shapes the platforms use: OAuth {"error":
// "invalid_grant"}, Graph {"error":{"code":190}}, Telegram {"error_code":401}, atproto
// {"error":"ExpiredToken"}. Only short codes are kept (never a description, which may quote
// input).
func errorCode(body []byte) string {
	var v struct {
		Error     json.RawMessage `json:"error"`
		ErrorCode json.RawMessage `json:"error_code"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(v.Error, &s) == nil {
		return short(s)
	}
	var g struct {
		Code json.Number `json:"code"`
	}
	if json.Unmarshal(v.Error, &g) == nil && g.Code != "" {
		return short(g.Code.String())
	}
	var n json.Number
	if json.Unmarshal(v.ErrorCode, &n) == nil {
		return short(n.String())
	}
	return ""
}

func short(s string) string {
	if len(s) > 40 || strings.ContainsAny(s, " \n\t") {
		return ""
	}
	return s
}

// PostForm posts an application/x-www-form-urlencoded body.
func PostForm(ctx context.Context, c *http.Client, u, what string, form url.Values, basicUser, basicPass string, header http.Header, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%s: bad platform URL", what)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	return Do(c, req, what, out)
}

// Get sends a GET with the query and an optional bearer token.
func Get(ctx context.Context, c *http.Client, u, what string, q url.Values, bearer string, header http.Header, out any) error {
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%s: bad platform URL", what)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return Do(c, req, what, out)
}

// PostJSON posts a JSON body with an optional bearer token.
func PostJSON(ctx context.Context, c *http.Client, u, what string, body any, bearer string, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, r)
	if err != nil {
		return fmt.Errorf("%s: bad platform URL", what)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return Do(c, req, what, out)
}

// Seconds reads an expires_in that platforms send as a number or a string.
type Seconds float64

// UnmarshalJSON accepts 3600 and "3600".
func (s *Seconds) UnmarshalJSON(b []byte) error {
	str := strings.Trim(string(b), `"`)
	if str == "" || str == "null" {
		*s = 0
		return nil
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return err
	}
	*s = Seconds(f)
	return nil
}
