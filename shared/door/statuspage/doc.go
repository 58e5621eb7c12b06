// Package statuspage is raprov's status page for operators: the requests in
// the ledger with filters, one request's timeline through the steps, the
// dead letters with their reasons, and a replay button for each. It is plain
// server-rendered HTML (html/template) with one stylesheet served from the
// package; it uses no JavaScript at all. docs/status-page.md is the
// operator's guide.
//
// # Paths
//
// The page shares the root of the server with the signed JSON API
// (package httpapi: /requests, /requests/{id}, /senders/...), so it owns
// only the paths that Routes lists:
//
//	GET  /                             summary and requests, filtered by query
//	GET  /login, POST /login           the login form
//	POST /logout                       clears the session cookie
//	GET  /static/style.css             the stylesheet
//	GET  /requests/{id}/view           one request's timeline
//	GET  /dead-letters                 dead letters with their reasons
//	POST /dead-letters/{id}/replay     replays one dead letter
//
// Mount registers exactly these patterns on a ServeMux; GET
// /requests/{id}/view is more specific than the API's "/requests/" pattern,
// so both live in one mux.
//
// # Authentication
//
// Browsers cannot sign each request as API senders do, so the operator
// logs in once at /login by pasting one of the API's access keys
// (Options.Keys, the same keys as httpapi). On success the page sets a
// session cookie (HttpOnly, SameSite=Strict, Path=/, Secure when the
// request came over TLS) holding an expiring token signed with a key
// derived from the access key: "v1.<expiry>.<nonce>.<HMAC-SHA256>". The
// server keeps no session state: a token is valid until it expires
// (SessionTTL after login) or until its access key is removed from Keys.
// Every page but /login and the stylesheet requires a valid token and
// redirects to /login without one.
//
// # CSRF
//
// State-changing requests (replay, logout) are POST forms carrying a token
// HMAC(session key, action + session token), checked with hmac.Equal; the
// session cookie is SameSite=Strict; and a request whose Origin, Referer or
// Sec-Fetch-Site names another site is refused with 403 before anything
// happens.
//
// # Output
//
// Every value reaches the page through html/template, and the strings that
// came from senders or message bodies (request ids, display names, reasons,
// details, steps, queues) are also passed through termsafe.Escape, so
// bidirectional and other control characters show as visible \u escapes
// instead of reordering the page. Answers carry a Content-Security-Policy
// that allows only the page's own stylesheet and forms, X-Frame-Options
// DENY and Cache-Control no-store.
package statuspage
