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
	h, err := host.Load()
	if err != nil {
		host.Exit(events.StepComplete, err)
	}
	secret, err := secret.FromARNVar(context.Background(), h.AWS, callbackSecretVar)
	if err != nil {
		host.Exit(events.StepComplete, err)
	}
	var notifier steps.Notifier
	if secret != "" {
		c, err := callback.New(secret, callback.Options{AllowedHosts: h.Steps.CallbackAllowedHosts})
		if err != nil {
			host.Exit(events.StepComplete, fmt.Errorf("RAPROV_CALLBACK_ALLOWED_HOSTS: %w", err))
		}
		notifier = c
	} else {
		h.Log.Warn(callbackSecretVar + " is not set: results are not posted to callbackUrl (callbacks are always signed)")
	}
	h.Start(events.StepComplete, steps.Complete(notifier, h.Holds, h.Steps))
}
