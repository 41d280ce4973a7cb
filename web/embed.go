// Package web serves the web inbox: the TypeScript app of web/src, built by `make web` into
// web/dist (committed), embedded in the binary and served at / by the API's own port.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed dist
var dist embed.FS

// Assets is the built app: index.html and assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed directive guarantees dist exists
	}
	return sub
}

// Handlers maps the patterns of the inbox to their handlers: the page at exactly / and its
// assets under /assets/. Nothing else: unknown paths stay 404 for the API's clients.
func Handlers() map[string]http.Handler {
	assets := Assets()
	files := http.FileServerFS(assets)
	page := func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		// The page is small and changes with the binary: always revalidated.
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, assets, "index.html")
	}
	return map[string]http.Handler{
		"GET /{$}": http.HandlerFunc(page),
		"GET /assets/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			secure(w)
			w.Header().Set("Cache-Control", "no-cache")
			files.ServeHTTP(w, r)
		}),
	}
}

// secure sets the headers of a page that holds an API key: no framing, no other origin's
// scripts, no referrer; images may come from anywhere (avatars and attachments live on the
// platforms' CDNs); the API may be on another origin (the sign-in's server setting).
func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src * data: blob:; connect-src *; "+
		"style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}
