package statuspage_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/raprov/raprov/shared/door/statuspage"
	"github.com/raprov/raprov/shared/ledger/memledger"
)

// The page shares one ServeMux with the signed JSON API: the API keeps
// /requests, /requests/{id} and /senders/..., the page takes the paths of
// Routes.
func ExampleHandler_Mount() {
	page, err := statuspage.New(statuspage.Options{
		Ledger: memledger.New(),
		Keys:   []string{"an-access-key-of-at-least-32-bytes!"},
		Replay: func(ctx context.Context, id string) error { return nil }, // e.g. Get, bump the replay count, Requeue
	})
	if err != nil {
		panic(err)
	}
	var api http.Handler = http.NotFoundHandler() // httpapi.New(...)
	mux := http.NewServeMux()
	mux.Handle("/requests", api)
	mux.Handle("/requests/", api)
	mux.Handle("/senders/", api)
	page.Mount(mux)
	for _, r := range page.Routes() {
		fmt.Println(r)
	}
	// Output:
	// GET /{$}
	// GET /login
	// POST /login
	// POST /logout
	// GET /static/style.css
	// GET /requests/{id}/view
	// GET /dead-letters
	// POST /dead-letters/{id}/replay
}
