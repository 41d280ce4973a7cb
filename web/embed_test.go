package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The page at / and its assets are served from the binary, with the headers of a page that
// holds a key; other paths are not the inbox's.
func TestHandlers(t *testing.T) {
	mux := http.NewServeMux()
	for p, h := range Handlers() {
		mux.Handle(p, h)
	}
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	page := get("/")
	if page.Code != 200 || !strings.Contains(page.Body.String(), `<script type="module" src="assets/app.js">`) {
		t.Fatalf("GET / = %d %q, want the inbox page", page.Code, page.Body.String())
	}
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("GET / Content-Security-Policy = %q", csp)
	}
	for _, asset := range []string{"/assets/app.js", "/assets/styles.css", "/assets/favicon.svg"} {
		if w := get(asset); w.Code != 200 || w.Body.Len() == 0 {
			t.Fatalf("GET %s = %d (%d bytes)", asset, w.Code, w.Body.Len())
		}
	}
	for _, other := range []string{"/nothing", "/assets/missing.js"} {
		if w := get(other); w.Code != 404 {
			t.Fatalf("GET %s = %d, want 404", other, w.Code)
		}
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST / = %d, want 405", w.Code)
	}
}
