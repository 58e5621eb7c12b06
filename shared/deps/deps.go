//go:build tools

// Package deps pins modules that raprov's packages adopt over several issues,
// so go.mod stays stable while they land. The build tag keeps it out of every
// build; go mod tidy still honours it.
package deps

import (
	_ "github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	_ "github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	_ "github.com/aws/aws-lambda-go/lambda"
	_ "github.com/aws/aws-sdk-go-v2/service/sqs"
	_ "github.com/cenkalti/backoff/v5"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/google/uuid"
	_ "github.com/kelseyhightower/envconfig"
	_ "github.com/microsoft/kiota-abstractions-go"
	_ "github.com/microsoft/kiota-http-go"
	_ "github.com/microsoftgraph/msgraph-sdk-go-core"
	_ "github.com/microsoftgraph/msgraph-sdk-go/models"
	_ "github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"
	_ "github.com/microsoftgraph/msgraph-sdk-go/users"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/time/rate"
	_ "maragu.dev/goqite"
	_ "modernc.org/sqlite"
)
