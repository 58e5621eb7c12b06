// Command complete is the Lambda function of the complete step: it ends each
// request, releases its number hold, posts the signed callback and publishes
// the final event to the results queue (see steps.Complete). It does not
// link Graph.
package main

import (
	"context"
	"fmt"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/functions/internal/secret"
	"github.com/raprov/raprov/shared/callback"
	"github.com/raprov/raprov/shared/steps"
)

// callbackSecretVar names the variable holding the ARN of the secret that
// signs callbacks.
const callbackSecretVar = "RAPROV_CALLBACK_SECRET_ARN"

func main() {
	host.Run(events.StepComplete, func(h *host.Host) (steps.Step, error) {
		key, err := secret.FromARNVar(context.Background(), h.AWS, callbackSecretVar)
		if err != nil {
			return nil, err
		}
		var notifier steps.Notifier
		if key != "" {
			c, err := newNotifier(h, key, callback.Options{AllowedHosts: h.Steps.CallbackAllowedHosts})
			if err != nil {
				return nil, fmt.Errorf("RAPROV_CALLBACK_ALLOWED_HOSTS: %w", err)
			}
			notifier = c
		} else {
			h.Log.Warn(callbackSecretVar + " is not set: results are not posted to callbackUrl (callbacks are always signed)")
		}
		return steps.Complete(notifier, h.Holds, h.Steps), nil
	})
}

// newNotifier returns the callback client signing with key: callback.New,
// with its full protection (public hosts only). Only a build with the
// e2ehooks tag replaces it (hooks_e2e.go, for the AWS end-to-end tests);
// the deployable build (make build-aws) has no other.
var newNotifier = func(_ *host.Host, key string, opts callback.Options) (*callback.Client, error) {
	return callback.New(key, opts)
}
