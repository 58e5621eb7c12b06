package teamsadmin_test

import (
	"context"
	"log"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/teamsadmin"
)

// Binding a freshly created Entra user as a call queue resource account and
// associating it with an existing call queue. The credential is the app
// registration's client secret; its service principal holds the Teams
// Administrator and User Administrator roles (docs/permissions.md).
func Example() {
	cfg, err := teamsadmin.ConfigFromEnv() // RAPROV_TEAMS_ADMIN_* overrides, production defaults otherwise
	if err != nil {
		log.Fatal(err)
	}
	cred, err := azidentity.NewClientSecretCredential(os.Getenv("AZURE_TENANT_ID"), os.Getenv("AZURE_CLIENT_ID"),
		os.Getenv("AZURE_CLIENT_SECRET"), nil)
	if err != nil {
		log.Fatal(err)
	}
	teams, err := teamsadmin.New(cfg, cred)
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	const userID, callQueueID = "6a1e3c55-93d4-4c8e-8f0e-2b7c0f4b9d11", "e4a05a3a-d95a-4737-81b9-68d074f1e279"
	switch err := teams.Bind(ctx, userID, steps.CallQueueAppID); {
	case apperr.CodeOf(err) == apperr.NotFound:
		log.Print("user not replicated to Teams yet: retry later")
		return
	case err != nil:
		log.Fatal(err)
	}
	if err := teams.Associate(ctx, steps.Association{ConfigurationID: callQueueID, ConfigurationType: teamsadmin.ConfigurationCallQueue, ObjectIDs: []string{userID}}); err != nil {
		log.Fatal(err)
	}
}
